// Misses and writes on the memory tier, beside the least a cache can do: every call of a cached function a miss
// (a new key: claim, load, write, evicting once full) against an `lru-cache` get-then-set and a bare `Map`
// behind the same async wrapper; filling 1M entries against a `Map`; and the hit ratio of a second pass over
// entries with their own tags, in a store too small for the tag versions beside them. Subjects interleaved
// round-robin (the order rotated each round), medians, ratios. Prints JSON.
//   node --expose-gc bench/writes.mjs [runMs] [rounds] [--cells miss,fill,tags] [--ab <dir of another build>]
// `--ab <dir>` adds that build's cache (e.g. the old code: `git archive main | tar -x -C <dir>`, then
// `deno run -A npm-build.ts` there) as subjects beside ours, in the same process.
import { LRUCache } from "lru-cache";
import { measure } from "./_rounds.mjs";
import { userValue as value } from "./_value.mjs";

const numbers = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
const RUN_MS = numbers[0] ?? 300;
const ROUNDS = numbers[1] ?? 7;
const abAt = process.argv.indexOf("--ab");
const cellsAt = process.argv.indexOf("--cells");
const cells = new Set((cellsAt > 0 ? process.argv[cellsAt + 1] : "miss,fill,tags").split(","));
const builds = { "": new URL("../npm/esm/", import.meta.url).href };
if (abAt > 0) builds[" (other build)"] = new URL(`file://${process.argv[abAt + 1]}/npm/esm/`).href;
const libraries = {};
for (const [label, base] of Object.entries(builds)) {
  libraries[label] = {
    ...(await import(base + "mod.js")),
    memoryStore: (await import(base + "adapters/memory.js")).memoryStore,
  };
}
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A cached function of ours over a memory store of `capacity` entries, tagged with `tags` templates. */
async function ourRead(library, capacity, tags) {
  const cache = await library.createCache({
    prefix: "bench",
    logger: quiet,
    store: library.memoryStore({ maxEntries: capacity, maxBytes: 2 ** 40 }),
  });
  let loads = 0;
  const read = cache.cacheRead({ key: "u:{id}", ttl: 3600, tags }, ({ id }) => (loads++, value(id)));
  return { get: (id) => read({ id }), loads: () => loads, close: () => cache.close() };
}

/** The async get-or-set wrapper every baseline sits behind. */
function wrapped(store) {
  return async (id) => {
    let v = store.get(id);
    if (v === undefined) store.set(id, v = await value(id));
    return v;
  };
}

/** Misses per second: each call a key not seen before, into a store already full (every write evicts). */
async function missWrite(capacity) {
  const runs = [];
  const add = async (name, get) => {
    let id = 0;
    while (id < capacity) await get(id++); // untimed: each round measures the steady state
    runs.push([name, async () => {
      const until = performance.now() + RUN_MS;
      let ops = 0;
      do {
        for (let k = 0; k < 500; k++) await get(id++);
        ops += 500;
      } while (performance.now() < until);
      return ops;
    }]);
  };
  for (const [label, library] of Object.entries(libraries)) {
    await add(`@svc-infra/cache${label}`, (await ourRead(library, capacity)).get);
  }
  await add("lru-cache", wrapped(new LRUCache({ max: capacity })));
  await add("bare Map", wrapped(new Map()));
  return await measure(runs, ROUNDS);
}

/** Fills per second of `n` entries into a fresh cache (a bare Map: unbounded) through the same calls. */
async function fill(n, rounds) {
  const runs = [];
  const add = (name, make) => {
    let get;
    runs.push([name, async () => {
      for (let id = 0; id < n; id++) await get(id);
      get = undefined;
      return n;
    }, async () => {
      globalThis.gc?.();
      get = await make();
    }]);
  };
  for (const [label, library] of Object.entries(libraries)) {
    add(`@svc-infra/cache${label}`, async () => (await ourRead(library, n)).get);
  }
  add("bare Map", () => wrapped(new Map()));
  return await measure(runs, rounds);
}

/** Hit ratio of a second pass over `entries` entries with `tagsEach` own tags, `maxEntries` as given. */
async function taggedSecondPass(entries, tagsEach, maxEntries) {
  const out = {};
  const tags = Array.from({ length: tagsEach }, (_, t) => `t${t}:{id}`);
  for (const [label, library] of Object.entries(libraries)) {
    const s = await ourRead(library, maxEntries, tags);
    for (let id = 0; id < entries; id++) await s.get(id);
    const before = s.loads();
    for (let id = 0; id < entries; id++) await s.get(id);
    out[`@svc-infra/cache${label}`] = 1 - (s.loads() - before) / entries;
    await s.close();
  }
  return out;
}

const ratios = (cell, base) =>
  Object.fromEntries(
    Object.entries(cell).map(([k, v]) => [k, +(cell[base].opsPerSec / v.opsPerSec).toFixed(2)]),
  );
const out = { node: process.version, runMs: RUN_MS, rounds: ROUNDS };
if (cells.has("miss")) {
  out.missWrite = await missWrite(100_000);
  out.missWriteTimeVsLru = ratios(out.missWrite, "lru-cache");
}
if (cells.has("fill")) {
  out.fill1M = await fill(1_000_000, Math.max(3, ROUNDS >> 1));
  out.fill1MTimeVsMap = ratios(out.fill1M, "bare Map");
}
if (cells.has("tags")) out.taggedSecondPassHitRatio = await taggedSecondPass(1000, 5, 2000);
console.log(JSON.stringify(out, null, 1));
process.exit(0);
