// Which entries a bounded store keeps decides its hit ratio. Replays traces through our memory store (through
// its store API, as the cache uses it), lru-cache and SIEVE (NSDI '24, implemented below) at capacities of 1 %,
// 5 % and 10 % of the trace's distinct keys (and 0.1 % on the real trace), beside Belady's optimum (offline MIN:
// evict the entry needed furthest in the future). The real trace is libCacheSim's public CloudPhysics block
// trace (data/cloudPhysicsIO.txt of github.com/1a1a11a/libCacheSim, one block number per request), read from
// bench/traces/cloudPhysicsIO.txt (not in this repository: libCacheSim is GPL-3.0; put it there to replay it).
// The bench reaches no network for it: when the file is absent, the trace is reported absent. Also reports the replay time, which shows whether eviction cost
// grows with capacity. Prints JSON.
//   node bench/hit_ratio.mjs [requests]
import { existsSync, readFileSync } from "node:fs";
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

const TRACE_FILE = new URL("traces/cloudPhysicsIO.txt", import.meta.url);

/** libCacheSim's CloudPhysics trace (113,872 block reads), or undefined when bench/traces/ does not hold it. */
function cloudPhysicsTrace() {
  if (!existsSync(TRACE_FILE)) return undefined;
  const lines = readFileSync(TRACE_FILE, "utf8").split("\n").filter((l) => l !== "");
  return Int32Array.from(lines, Number);
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

/**
 * SIEVE: a FIFO queue with one visited bit per entry; a hit sets the bit; the hand walks from the tail toward
 * the head, clearing set bits, and evicts the first entry whose bit is clear, then stays there.
 */
function replaySieve(trace, capacity) {
  const slot = new Map(); // key → slot
  const keyOf = new Array(capacity), visited = new Uint8Array(capacity);
  const prev = new Int32Array(capacity).fill(-1),
    next = new Int32Array(capacity).fill(-1); // prev: toward the head
  let head = -1, tail = -1, hand = -1, used = 0, misses = 0;
  for (let i = 0; i < trace.length; i++) {
    const key = `k${trace[i]}`; // string keys, as the other replays use
    const s = slot.get(key);
    if (s !== undefined) {
      visited[s] = 1;
      continue;
    }
    misses++;
    let free;
    if (used < capacity) free = used++;
    else {
      let h = hand === -1 ? tail : hand;
      while (visited[h]) {
        visited[h] = 0;
        h = prev[h] === -1 ? tail : prev[h];
      }
      free = h;
      hand = prev[h]; // -1: back to the tail next time
      slot.delete(keyOf[h]);
      // unlink h
      if (prev[h] !== -1) next[prev[h]] = next[h];
      else head = next[h];
      if (next[h] !== -1) prev[next[h]] = prev[h];
      else tail = prev[h];
    }
    keyOf[free] = key;
    visited[free] = 0;
    slot.set(key, free);
    // link at the head
    prev[free] = -1;
    next[free] = head;
    if (head !== -1) prev[head] = free;
    head = free;
    if (tail === -1) tail = free;
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
const real = await cloudPhysicsTrace();
const traces = [["zipf 0.99", zipfTrace(false)], [
  "zipf 0.99 + scans",
  zipfTrace(true),
]];
if (real) traces.push(["CloudPhysics block trace", real]);
else {out.absent =
    "the CloudPhysics trace: bench/traces/cloudPhysicsIO.txt is absent (see bench/hit_ratio.mjs)";}
for (const [name, trace] of traces) {
  const keys = distinct(trace);
  const rows = {};
  for (
    const share of name.startsWith("CloudPhysics") ? [0.001, 0.01, 0.05, 0.1] : [0.01, 0.05, 0.1]
  ) {
    const capacity = Math.round(keys * share);
    const timed = (fn) => {
      const t0 = performance.now();
      const misses = fn(trace, capacity);
      return { missRatio: misses / trace.length, ms: performance.now() - t0 };
    };
    // Interleaved: our store, lru-cache and SIEVE take turns, twice, and the faster replay of each counts.
    const runs = { ours: [], lru: [], sieve: [] };
    const order = [["ours", replayOurs], ["lru", replayLru], [
      "sieve",
      replaySieve,
    ]];
    for (let round = 0; round < 2; round++) {
      for (const [subject, fn] of round % 2 ? order.toReversed() : order) {
        runs[subject].push(timed(fn));
      }
    }
    const best = (xs) => xs.reduce((a, b) => (a.ms <= b.ms ? a : b));
    rows[`${+(share * 100).toFixed(1)}%`] = {
      capacity,
      ours: best(runs.ours),
      lru: best(runs.lru),
      sieve: best(runs.sieve),
      belady: belady(trace, capacity) / trace.length,
    };
  }
  out.traces[name] = { distinctKeys: keys, rows };
}
console.log(JSON.stringify(out));
