import { testAdapter } from "../../src/testing/conformance.ts";
import { redisStore } from "../../adapters/redis.ts";
const url = Deno.env.get("TEST_CLUSTER_URL");
if (url) testAdapter("redis cluster", () => redisStore(url));
