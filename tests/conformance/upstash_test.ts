import { testAdapter } from "../../src/testing/conformance.ts";
import { upstashStore } from "../../adapters/upstash.ts";
const url = Deno.env.get("TEST_UPSTASH_URL"), token = Deno.env.get("TEST_UPSTASH_TOKEN");
if (url && token) testAdapter("upstash", () => upstashStore({ url, token }));
