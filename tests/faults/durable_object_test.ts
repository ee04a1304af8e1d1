// The fault suite on the Durable Object store in workerd (wrangler dev), calls alternating between two Workers.
import { testFaults } from "../../src/testing/mod.ts";
import { startWorkers, workerStore } from "../_cloudflare.ts";
const workers = await startWorkers();
testFaults("durable object (workerd)", () => workerStore(workers.base, "do"));
