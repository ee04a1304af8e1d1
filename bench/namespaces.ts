/**
 * What namespaces and `clear()` cost (issue 30): a hit in a namespace (one level, and eight) against a plain
 * hit of the same cached function, on the memory store and on Redis (the namespace's generations are read in
 * the hit's one MGET); and one `clear()` with 1 and with 100,000 live entries (O(1): the same cost). Hits run
 * in alternating short rounds, plain and namespaced in turn (which goes first alternates too), so a noisy
 * machine slows both alike; each ratio is the median of the per-round ratios. Prints JSON.
 * Usage: deno run -A bench/namespaces.ts <redis-url> [rounds]
 *
 * @module
 */

import { type Cache, createCache } from "../mod.ts";
import { memoryStore } from "../adapters/memory.ts";

const [redisUrl, roundsArg] = Deno.args;
const ROUNDS = Number(roundsArg ?? 41);
const ROUND_MS = 40;
const KEYS = 1000;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** The cache at `depth` namespaces under `root` (0: the root itself). */
function nested(root: Cache, depth: number): Cache {
  let cache = root;
  for (let i = 1; i <= depth; i++) cache = cache.namespace(`ns${i}`);
  return cache;
}

/** A cached function with one tag in `cache`, its keys loaded: each call a hit. */
async function hits(cache: Cache): Promise<(i: number) => Promise<unknown>> {
  const read = cache.cacheRead(
    { key: "u:{id}", tags: ["u:{id}"], ttl: 3600 },
    ({ id }: { id: number }) => ({ id, name: `user ${id}` }),
  );
  for (let id = 0; id < KEYS; id++) await read({ id });
  return (i) => read({ id: i % KEYS });
}

/** Hits per second over `ms`, sequential (one caller). */
async function rate(hit: (i: number) => Promise<unknown>, ms: number): Promise<number> {
  let n = 0;
  const until = performance.now() + ms;
  while (performance.now() < until) for (let k = 0; k < 100; k++) await hit(n++);
  return n / ms * 1000;
}

/** Plain against namespaced hits, interleaved: ops/s of each and the median ratio. */
async function hitCell(open: () => Promise<Cache>, depth: number, rounds: number, roundMs = ROUND_MS) {
  const cache = await open();
  const plain = await hits(cache), spaced = await hits(nested(cache, depth));
  for (let w = 0; w < 3; w++) await rate(plain, 100), await rate(spaced, 100);
  const plains: number[] = [], spaceds: number[] = [], ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let p: number, s: number;
    if (r % 2) s = await rate(spaced, roundMs), p = await rate(plain, roundMs);
    else p = await rate(plain, roundMs), s = await rate(spaced, roundMs);
    plains.push(p), spaceds.push(s), ratios.push(p / s);
  }
  await cache.close();
  // The cost ratio: how much longer a namespaced hit takes than a plain one (target ≤ 1.05).
  return { plainPerSec: median(plains), namespacedPerSec: median(spaceds), costRatio: median(ratios) };
}

/**
 * Microseconds one `clear()` takes with 1 and with 100,000 live entries in the namespace (medians of `repeats`):
 * two namespaces of one cache, refilled before each round and cleared in turn (which goes first alternates).
 */
async function clearCell(open: () => Promise<Cache>, repeats: number) {
  const cache = await open();
  const sizes = [1, 100_000];
  const times = sizes.map(() => [] as number[]);
  for (let r = 0; r < repeats; r++) {
    for (const n of sizes) {
      // Untimed: every clear faces its live entries (a batch of 1,000 per store round trip).
      const keys = Array.from({ length: n }, (_, i) => `k${i}`), space = cache.namespace(`s${n}`);
      for (let i = 0; i < n; i += 1000) {
        await space.getOrSetMany(keys.slice(i, i + 1000), (missing) => missing, { ttl: 60 }); // gone soon after
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50)); // the fill's background work settles first
    for (const k of r % 2 ? [1, 0] : [0, 1]) {
      const space = cache.namespace(`s${sizes[k]}`);
      await cache.namespace("warm").clear(); // the first call after a pause is slower: neither size pays it
      const t0 = performance.now();
      await space.clear();
      times[k].push((performance.now() - t0) * 1000);
      if (await space.get(`k${sizes[k] - 1}`) !== undefined) throw new Error("clear() left an entry");
    }
  }
  await cache.close();
  return sizes.map((entries, k) => ({ entries, microseconds: median(times[k]) }));
}

const memory = () =>
  createCache({
    logger: quiet,
    prefix: "bns",
    store: memoryStore({ maxEntries: 250_000, maxBytes: 1 << 30 }),
  });
const redis = () =>
  createCache({ url: redisUrl, logger: quiet, prefix: `bns${crypto.randomUUID().slice(0, 8)}` });
const results = {
  date: new Date().toISOString(),
  hits: {
    "memory, 1 level": await hitCell(memory, 1, ROUNDS),
    "memory, 8 levels": await hitCell(memory, 8, ROUNDS),
    "redis, 1 level": await hitCell(redis, 1, Math.ceil(ROUNDS / 2), 200),
    "redis, 8 levels": await hitCell(redis, 8, Math.ceil(ROUNDS / 2), 200),
  },
  clear: {
    memory: await clearCell(memory, 9),
    redis: await clearCell(redis, 7),
  },
};
console.log(JSON.stringify(results, null, 2));
Deno.exit(0);
