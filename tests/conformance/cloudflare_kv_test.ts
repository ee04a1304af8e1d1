// The KV hybrid (bodies in Workers KV, versions in the Durable Object) in workerd (wrangler dev), each call made
// by one of two Workers alternately, both reaching the same object and KV namespace.
import { testAdapter } from "../../src/testing/conformance.ts";
import { startWorkers, workerStore } from "../_cloudflare.ts";
const workers = await startWorkers();
testAdapter("cloudflare kv + durable object (workerd, two Workers)", () => workerStore(workers.base, "kv"), {
  modelOps: 3000,
});
