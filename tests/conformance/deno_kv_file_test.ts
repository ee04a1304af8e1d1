import { testAdapter } from "../../src/testing/conformance.ts";
import { denoKvStore } from "../../adapters/deno_kv.ts";
const path = Deno.makeTempFileSync({ suffix: ".kv.sqlite" });
testAdapter("deno kv file", async () => denoKvStore(await Deno.openKv(path), { closeKv: true }));
