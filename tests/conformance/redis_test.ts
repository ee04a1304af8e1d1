import { testAdapter } from "../../src/testing/conformance.ts";
import { redisStore } from "../../adapters/redis.ts";
const url = Deno.env.get("TEST_REDIS_URL");
if (url) testAdapter("redis", () => redisStore(url));
