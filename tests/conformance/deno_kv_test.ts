import { testAdapter } from "../../src/testing/conformance.ts";
import { denoKvStore } from "../../adapters/deno_kv.ts";
testAdapter("deno kv :memory:", async () => denoKvStore(await Deno.openKv(":memory:"), { closeKv: true }));
