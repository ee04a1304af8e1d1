import assert from "node:assert/strict";
import { createCache } from "../api/create_cache.ts";
import { memoryStore } from "./memory_store.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

Deno.test("memory tags: tag versions do not push out the entries that depend on them (1,000 entries × 5 own tags, maxEntries 2,000)", async () => {
  const store = memoryStore({ maxEntries: 2000 });
  const cache = await createCache({ prefix: "tv", store, logger: quiet });
  let loads = 0;
  const read = cache.cacheRead(
    { key: "u:{id}", ttl: 3600, tags: ["a:{id}", "b:{id}", "c:{id}", "d:{id}", "e:{id}"] },
    ({ id }: { id: number }) => (loads++, { id }),
  );
  for (let id = 0; id < 1000; id++) await read({ id });
  assert.equal(loads, 1000);
  for (let id = 0; id < 1000; id++) assert.deepEqual(await read({ id }), { id });
  const hitRatio = 1 - (loads - 1000) / 1000;
  assert.ok(hitRatio >= 0.8, `second pass hit ratio ${hitRatio}`);
  // The versions are held beside the entries, within the byte bound; once the entries go, so do they.
  assert.equal(store.size, 6000);
  // Versions whose entries were evicted go with them: at most 2,000 entries and their 10,000 versions remain.
  for (let id = 1000; id < 4000; id++) await read({ id });
  assert.ok(store.size <= 2000 * 6, `size ${store.size}`);
  await cache.close();
});

Deno.test("memory tags: under eviction pressure an invalidated tag never lets an entry stored before it hit again", async () => {
  // Entries with an own tag and a shared one, in a store far smaller than the keys: entries, versions and
  // markers are evicted all the time. Every read must see the generation current when it began.
  const store = memoryStore({ maxEntries: 40 });
  const a = await createCache({ prefix: "tp", store, logger: quiet });
  const b = await createCache({ prefix: "tp", store, logger: quiet }); // a second cache on the same store
  const KEYS = 120;
  const generation = new Array<number>(KEYS).fill(0);
  let everything = 0, loads = 0;
  const reads = [a, b].map((cache) =>
    cache.cacheRead(
      { key: "k:{id}", ttl: 3600, tags: ["own:{id}", "all"] },
      ({ id }: { id: number }) => (loads++, { id, own: generation[id], all: everything }),
    )
  );
  let seed = 7;
  const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  let checks = 0;
  for (let step = 0; step < 20_000; step++) {
    const cache = next(2) ? a : b;
    const op = next(100);
    if (op < 3) {
      const id = next(KEYS);
      generation[id]++;
      await cache.invalidateTags([`own:${id}`]);
    } else if (op < 4) {
      everything++;
      await cache.invalidateTags(["all"]);
    } else {
      // A skewed choice of keys, so that some stay cached and hit.
      const id = next(2) ? next(10) : next(KEYS);
      const got = await reads[cache === a ? 0 : 1]({ id });
      checks++;
      assert.deepEqual(got, { id, own: generation[id], all: everything }, `step ${step}`);
    }
  }
  assert.ok(checks > 15_000, `reads checked: ${checks}`);
  // Not a test of loads only: many reads were hits on entries whose versions had to be checked.
  assert.ok(checks - loads > 2000, `hits: ${checks - loads} of ${checks}`);
  await a.close(), await b.close();
});

Deno.test("memory store through a cache: entries loaded once do not count as read, so a scan of one-off keys leaves the hot set cached", async () => {
  const store = memoryStore({ maxEntries: 100 });
  const cache = await createCache({ prefix: "scan", store, logger: quiet });
  let loads = 0;
  const read = cache.cacheRead({ key: "k:{id}", ttl: 3600 }, ({ id }: { id: number }) => (loads++, id));
  for (let round = 0; round < 3; round++) for (let id = 0; id < 20; id++) await read({ id });
  assert.equal(loads, 20);
  for (let id = 1000; id < 2000; id++) await read({ id }); // each once: a scan
  assert.equal(loads, 1020);
  for (let id = 0; id < 20; id++) assert.equal(await read({ id }), id);
  assert.equal(loads - 1020, 0, "the hot set survived the scan");
  await cache.close();
});
