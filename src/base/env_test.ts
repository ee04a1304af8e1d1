import assert from "node:assert/strict";
import { readEnv } from "./env.ts";
import { createCache } from "../../mod.ts";

/** A Worker's env as its own TypeScript declares it: an interface (no index signature) with bindings. */
interface WorkerEnv {
  CACHE: { idFromName(name: string): unknown };
  CACHE_PREFIX: string;
  CACHE_DEBUG?: string;
}

Deno.test("env: a Worker's env interface is accepted as it is; its string settings are read, bindings ignored", async () => {
  const env: WorkerEnv = { CACHE: { idFromName: () => ({}) }, CACHE_PREFIX: "worker" };
  assert.equal(readEnv("CACHE_PREFIX", env), "worker");
  assert.equal(readEnv("CACHE", env), undefined, "a binding is not a setting");
  assert.equal(readEnv("CACHE_DEBUG", env), undefined);
  const cache = await createCache({ env });
  try {
    await cache.set("k", 1);
    assert.deepEqual(await cache.keys("*"), ["k"]);
  } finally {
    await cache.close();
  }
});
