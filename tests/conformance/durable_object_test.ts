// The Durable Object store in workerd (wrangler dev): each call is made by one of two Workers, alternately,
// both reaching the same object; with one object, and spread over four.
import { testAdapter } from "../../src/testing/conformance.ts";
import { startWorkers, workerStore } from "../_cloudflare.ts";
const workers = await startWorkers();
// Every call is an HTTP round trip to workerd: fewer model operations than in-process stores run.
testAdapter("durable object (workerd, two Workers)", () => workerStore(workers.base, "do"), {
  modelOps: 3000,
});
testAdapter("durable object, 4 shards (workerd, two Workers)", () => workerStore(workers.base, "do4"), {
  modelOps: 1000,
  interleavingRuns: 20,
});
