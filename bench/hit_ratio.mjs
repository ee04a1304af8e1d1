// Which entries a bounded store keeps decides its hit ratio. Replays traces through our memory store (through
// its store API, as the cache uses it) and lru-cache at capacities of 1 %, 5 % and 10 % of the trace's distinct
// keys, beside Belady's optimum (offline MIN: evict the entry needed furthest in the future). Also reports the
// replay time, which shows whether eviction cost grows with capacity. Prints JSON.
//   node bench/hit_ratio.mjs [requests]
import { LRUCache } from "lru-cache";
import { memoryStore } from "../npm/esm/adapters/memory.js";
import { lcg, zipfSampler } from "./_random.mjs";

const REQUESTS = Number(process.argv[2] ?? 1_000_000);

/** Zipf(0.99) over 100,000 keys; with `scans`, every 50,000 requests a run of 10,000 keys never seen again. */
function zipfTrace(scans) {
  const random = lcg(7), draw = zipfSampler(100_000, 0.99, random);
  const trace = new Int32Array(REQUESTS);
  let oneOff = 1_000_000;
  for (let i = 0; i < REQUESTS; i++) {
    if (scans && i % 50_000 >= 40_000) trace[i] = oneOff++;
    else trace[i] = draw();
  }
  return trace;
}

function distinct(trace) {
  return new Set(trace).size;
}

/** Misses of Belady's MIN at `capacity`. */
function belady(trace, capacity) {
  const next = new Int32Array(trace.length);
  const seen = new Map();
  for (let i = trace.length - 1; i >= 0; i--) {
    next[i] = seen.get(trace[i]) ?? 2 ** 31 - 1;
    seen.set(trace[i], i);
  }
  // Max-heap of [nextUse, key]; stale heap items (a key's older next-use) are skipped lazily.
  const heap = [], nextUse = new Map();
  const push = (item) => {
    heap.push(item);
    for (let i = heap.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (heap[p][0] >= heap[i][0]) break;
      [heap[p], heap[i]] = [heap[i], heap[p]];
      i = p;
    }
  };
  const pop = () => {
    const top = heap[0], last = heap.pop();
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && heap[l][0] > heap[m][0]) m = l;
        if (r < heap.length && heap[r][0] > heap[m][0]) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i], heap[m]];
        i = m;
      }
    }
    return top;
  };
  let misses = 0;
  for (let i = 0; i < trace.length; i++) {
    const key = trace[i];
    if (!nextUse.has(key)) {
      misses++;
      if (nextUse.size >= capacity) {
        for (;;) {
          const [use, victim] = pop();
          if (nextUse.get(victim) === use) {
            nextUse.delete(victim);
            break;
          }
        }
      }
    }
    nextUse.set(key, next[i]);
    push([next[i], key]);
  }
  return misses;
}

function replayOurs(trace, capacity) {
  const store = memoryStore({ maxEntries: capacity, maxBytes: 2 ** 40 });
  let misses = 0;
  const keys = [""];
  for (let i = 0; i < trace.length; i++) {
    keys[0] = `k${trace[i]}`;
    if (store.peek(keys)[0] === null) {
      misses++;
      store.setMany([{ key: keys[0], value: "v", ttlMs: 3_600_000 }]);
    }
  }
  return misses;
}

function replayLru(trace, capacity) {
  const lru = new LRUCache({ max: capacity });
  let misses = 0;
  for (let i = 0; i < trace.length; i++) {
    const key = `k${trace[i]}`;
    if (lru.get(key) === undefined) {
      misses++;
      lru.set(key, "v");
    }
  }
  return misses;
}

const out = { requests: REQUESTS, traces: {} };
for (const [name, trace] of [["zipf 0.99", zipfTrace(false)], ["zipf 0.99 + scans", zipfTrace(true)]]) {
  const keys = distinct(trace);
  const rows = {};
  for (const share of [0.01, 0.05, 0.1]) {
    const capacity = Math.round(keys * share);
    const timed = (fn) => {
      const t0 = performance.now();
      const misses = fn(trace, capacity);
      return { missRatio: misses / trace.length, ms: performance.now() - t0 };
    };
    // Interleaved: our store and lru-cache alternate, twice, and the faster replay of each counts.
    const runs = { ours: [], lru: [] };
    for (let round = 0; round < 2; round++) {
      for (
        const [subject, fn] of round % 2
          ? [["lru", replayLru], ["ours", replayOurs]]
          : [["ours", replayOurs], ["lru", replayLru]]
      ) {
        runs[subject].push(timed(fn));
      }
    }
    const best = (xs) => xs.reduce((a, b) => (a.ms <= b.ms ? a : b));
    rows[`${share * 100}%`] = {
      capacity,
      ours: best(runs.ours),
      lru: best(runs.lru),
      belady: belady(trace, capacity) / trace.length,
    };
  }
  out.traces[name] = { distinctKeys: keys, rows };
}
console.log(JSON.stringify(out));
