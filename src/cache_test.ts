import assert from "node:assert/strict";
import { createCache, getMetrics, initCache, instance, resetMetrics } from "../mod.ts";
import { memoryStore } from "./memory_store.ts";
import { deferred } from "../tests/_helpers.ts";

Deno.test("cache: getOrSet's type is the loader's; bad keys, tags and option names are TypeErrors", async () => {
  const cache = await createCache();
  const n: number = await cache.getOrSet("n", () => 1);
  const s: string = await cache.getOrSet("s", async () => await Promise.resolve("x"));
  // @ts-expect-error the loader returns a number
  const wrong: string = await cache.getOrSet("n2", () => 2);
  assert.deepEqual([n, s, wrong], [1, "x", 2]);
  await assert.rejects(cache.getOrSet("", () => 1), /Cannot cache: the key must be a non-empty/);
  await assert.rejects(
    cache.getOrSet("k", () => 1, { tags: "t" as unknown as string[] }),
    /tags must be an array of strings/,
  );
  await assert.rejects(cache.getOrSet("k", () => 1, { tll: 60 } as never), /did you mean "ttl"\?/);
  await assert.rejects(cache.get(7 as unknown as string), /Cannot get: the key must be/);
  await assert.rejects(cache.invalidateTags("t" as unknown as string[]), /tags must be an array/);
  class Money {
    constructor(readonly cents: number) {}
  }
  await assert.rejects(cache.set("m", new Money(5)), TypeError, "a value that cannot be stored is an error");
  await cache.close();
});

Deno.test("cache: concurrent getOrSet callers share one load; delete during the load is not undone", async () => {
  const cache = await createCache();
  let loads = 0;
  const gate = deferred<void>();
  const load = async () => (loads++, await gate.promise, loads);
  const callers = Array.from({ length: 100 }, () => cache.getOrSet("k", load, { ttl: 60 }));
  await new Promise((r) => setTimeout(r, 5));
  await cache.delete("k"); // lands while the load is in flight
  gate.resolve();
  assert.deepEqual(new Set(await Promise.all(callers)), new Set([1]));
  assert.equal(loads, 1);
  assert.equal(await cache.get("k"), undefined, "the load that lost to the delete did not store");
  assert.equal(await cache.getOrSet("k", load, { ttl: 60 }), 2);
  await cache.close();
});

Deno.test("cache: a soft invalidation serves the old value once, then callers join the one refresh", async () => {
  const cache = await createCache();
  let version = 1;
  const gate = deferred<void>();
  const load = async () => version === 1 ? 1 : (await gate.promise, version);
  const options = { ttl: 60, staleTtl: 600, tags: ["t"] };
  await cache.getOrSet("k", load, options);
  version = 2;
  await cache.invalidateTags(["t"], { soft: true });
  const reads = Array.from({ length: 10 }, () => cache.getOrSet("k", load, options));
  await new Promise((r) => setTimeout(r, 5));
  gate.resolve();
  const values = await Promise.all(reads);
  assert.equal(values.filter((v) => v === 1).length, 1, `one stale read, got ${values}`);
  assert.equal(values.filter((v) => v === 2).length, 9);
  await cache.close();
});

Deno.test("cache: instances keep their own entries and metrics; the default instance is initCache's", async () => {
  await initCache();
  resetMetrics();
  const a = await createCache(), b = await createCache({ store: memoryStore() });
  await a.set("k", "a");
  assert.equal(await a.get("k"), "a");
  assert.equal(await b.get("k"), undefined);
  assert.equal(await instance().get("k"), undefined);
  assert.equal(a.metrics()["cache.load"], 1, "set stores through a load");
  assert.equal(getMetrics()["cache.load"], 0, "the default cache counted nothing");
  await instance().set("k", "default", { ttl: 60 });
  assert.equal(await instance().get("k"), "default");
  assert.equal(getMetrics()["cache.load"], 1);
  await initCache({ prefix: "other" });
  assert.equal(await instance().get("k"), undefined, "instance() follows initCache");
  await Promise.all([a.close(), b.close(), instance().close()]);
});
