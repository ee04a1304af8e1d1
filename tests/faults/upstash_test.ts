import { testFaults } from "../../src/testing/mod.ts";
import { upstashStore } from "../../adapters/upstash.ts";
const url = Deno.env.get("TEST_UPSTASH_URL"), token = Deno.env.get("TEST_UPSTASH_TOKEN");
if (url && token) testFaults("upstash", () => upstashStore({ url, token }));
