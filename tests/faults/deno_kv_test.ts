import { testFaults } from "../../src/testing/mod.ts";
import { denoKvStore } from "../../adapters/deno_kv.ts";
testFaults("deno kv", async () => denoKvStore(await Deno.openKv(":memory:"), { closeKv: true }));
