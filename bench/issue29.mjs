// The targets of issue 29, each a ratio of subjects interleaved round-robin in one process (medians over rounds,
// bench/_rounds.mjs): hits by value size against a bare `Map` wrapper, the first hit after a write at 100 KB,
// misses over 1M Zipf keys at 100k capacity against a `Map` and the peers, hits with tags against untagged,
// `getOrSetMany` against single reads (memory) and a raw `MGET` (Redis), 100 KB values on Redis sequential and
// with 64 callers (p99.9); in child processes: memory per entry at 1M entries, the cold start (Node, Deno) and
// the ours/Map hit ratio on Bun beside Node. `--profile <cell> <subject>` profiles one subject of one cell alone
// (V8's sampling profiler): its costliest functions and their share of the run. Prints JSON.
//   node --expose-gc bench/issue29.mjs [runMs] [rounds] [--cells sizes,first,zipf,tags,batch,memory,cold,bun,redis]
//     [--redis <url>]
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { eachSample, profiledRun } from "./_profile.mjs";
import { measure } from "./_rounds.mjs";
import { lcg, zipfSampler } from "./_random.mjs";
import { userValue } from "./_value.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const arg = (
  flag,
) => (process.argv.indexOf(flag) > 0 ? process.argv[process.argv.indexOf(flag) + 1] : undefined);
const numbers = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(
  Number,
);
const RUN_MS = numbers[0] ?? 300;
const ROUNDS = numbers[1] ?? 7;
const REDIS_URL = arg("--redis");
const ours = await import("../npm/esm/mod.js");
const { memoryStore } = await import("../npm/esm/adapters/memory.js");
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A JSON value of about `bytes` bytes serialized: a record with a list of items. */
export function sizedValue(id, bytes) {
  const items = Math.max(0, Math.round((bytes - 40) / 34));
  return {
    id,
    name: `user ${id}`,
    items: Array.from(
      { length: items },
      (_, k) => ({ k, label: `item ${k} of ${id}` }),
    ),
  };
}

/** Our cache over a memory store of `capacity` entries; `read(options, load)` is its `cacheRead`. */
async function ourCache(capacity) {
  return await ours.createCache({
    prefix: "bench",
    logger: quiet,
    store: memoryStore({ maxEntries: capacity, maxBytes: 2 ** 40 }),
  });
}

/** The async get-or-set wrapper the `Map` (and lru-cache) baselines sit behind. */
function wrapped(store, load) {
  return async (id) => {
    let v = store.get(id);
    if (v === undefined) store.set(id, v = await load(id));
    return v;
  };
}

/** A timed run of `get` over `ids` (cycled) for RUN_MS, in batches. */
function hitRun(get, ids) {
  let i = 0;
  return async () => {
    const until = performance.now() + RUN_MS;
    let ops = 0;
    do {
      for (let k = 0; k < 200; k++) await get(ids[i++ % ids.length]);
      ops += 200;
    } while (performance.now() < until);
    return ops;
  };
}

const range = (n) => Array.from({ length: n }, (_, i) => i);

/** Times `part()` (ms): a cell's timed part within a run that also does untimed work (profiled alone). */
let timed = async (part) => {
  const t0 = performance.now();
  await part();
  return performance.now() - t0;
};

/** Each cell: `[name, run, warm?]` entries for bench/_rounds.mjs, made fresh (also for a profiled child). */
const cells = {
  /** Hits of values of 100 B to 100 KB: ours (default copy, and zeroCopy) against the bare `Map` wrapper. */
  async sizes() {
    const out = {};
    for (const bytes of [100, 1024, 10_240, 102_400]) {
      const keys = range(Math.min(1000, Math.floor(20e6 / bytes)));
      const load = (id) => sizedValue(id, bytes);
      const runs = [];
      for (const zeroCopy of [false, true]) {
        const cache = await ourCache(keys.length);
        const read = cache.cacheRead(
          { key: "v:{id}", ttl: 3600, zeroCopy },
          ({ id }) => load(id),
        );
        const get = (id) => read({ id });
        for (const id of keys) await get(id);
        runs.push([zeroCopy ? "ours zeroCopy" : "ours", hitRun(get, keys)]);
      }
      const map = wrapped(new Map(), load);
      for (const id of keys) await map(id);
      runs.push(["bare Map", hitRun(map, keys)]);
      out[`${bytes}`] = runs;
    }
    return out;
  },
  /** 100 KB: 20 new keys' misses + writes (untimed), then their first hits (timed), beside steady hits. */
  async first() {
    const bytes = 102_400, runs = [];
    const firstHits = (name, get) => {
      let id = 0;
      runs.push([name, async () => {
        let ms = 0, ops = 0;
        const until = performance.now() + RUN_MS;
        do {
          const from = id;
          for (let k = 0; k < 20; k++) await get(id++); // the misses and their writes
          ms += await timed(async () => {
            for (let key = from; key < id; key++) await get(key);
          });
          ops += 20;
        } while (performance.now() < until);
        return { ops, ms };
      }]);
    };
    const load = (id) => sizedValue(id, bytes);
    for (const zeroCopy of [false, true]) {
      const cache = await ourCache(200);
      const read = cache.cacheRead(
        { key: "v:{id}", ttl: 3600, zeroCopy },
        ({ id }) => load(id),
      );
      firstHits(
        zeroCopy ? "ours zeroCopy first hit" : "ours first hit",
        (id) => read({ id }),
      );
    }
    const { BentoCache, bentostore } = await import("bentocache");
    const { memoryDriver } = await import("bentocache/drivers/memory");
    const bento = new BentoCache({
      default: "m",
      stores: { m: bentostore().useL1Layer(memoryDriver({ maxItems: 200 })) },
    });
    firstHits(
      "bentocache first hit",
      (id) => bento.getOrSet({ key: `v:${id}`, ttl: "1h", factory: () => load(id) }),
    );
    const steady = await ourCache(200);
    const read = steady.cacheRead(
      { key: "v:{id}", ttl: 3600 },
      ({ id }) => load(id),
    );
    const get = (id) => read({ id });
    for (const id of range(100)) await get(id);
    runs.push(["ours steady hit", async () => {
      let ms = 0, ops = 0;
      const until = performance.now() + RUN_MS;
      do {
        ms += await timed(async () => {
          for (let k = 0; k < 20; k++) await get(k);
        });
        ops += 20;
      } while (performance.now() < until);
      return { ops, ms };
    }]);
    return { "100 KB": runs };
  },
  /** Zipf 0.99 over 1M keys, every cache sized to 100k entries (a bare `Map` holds all): misses load and write. */
  async zipf() {
    const { subjects } = await import("./_subjects.mjs");
    const draw = zipfSampler(1_000_000, 0.99, lcg(29));
    const ids = Uint32Array.from({ length: 1 << 20 }, draw);
    const runs = [];
    for (const [name, make] of Object.entries(subjects)) {
      if (name.endsWith("zeroCopy")) continue;
      const s = await make(false, 100_000);
      for (const id of ids) await s.get(id); // the steady state: the cache full of what Zipf keeps
      runs.push([name, hitRun((id) => s.get(id), ids)]);
    }
    return { "1M keys, 100k capacity": runs };
  },
  /** Hits of 1,000 warm keys with no tags, 5 tag templates, a function giving 5 tags, 20 tag templates. */
  async tags() {
    const keys = range(1000), runs = [];
    const templates = (n) => Array.from({ length: n }, (_, t) => `t${t}:{id}`);
    for (
      const [name, tags] of [
        ["untagged", undefined],
        ["5 tag templates", templates(5)],
        [
          "5 tags, a function",
          (
            { id },
          ) => [`t0:${id}`, `t1:${id}`, `t2:${id}`, `t3:${id}`, `t4:${id}`],
        ],
        ["20 tag templates", templates(20)],
      ]
    ) {
      const cache = await ourCache(10_000);
      const read = cache.cacheRead(
        { key: "u:{id}", ttl: 3600, tags },
        ({ id }) => userValue(id),
      );
      const get = (id) => read({ id });
      for (const id of keys) await get(id);
      runs.push([name, hitRun(get, keys)]);
    }
    return { "1,000 keys": runs };
  },
  /** 100 warm keys: one `getOrSetMany` of all of them against 100 sequential single `cacheRead` hits. */
  async batch() {
    const names = range(100).map((id) => `u:${id}`), runs = [];
    const many = await ourCache(1000);
    const loadMany = (missing) => missing.map((k) => userValue(Number(k.slice(2))));
    await many.getOrSetMany(names, loadMany, { ttl: 3600 });
    const single = await ourCache(1000);
    const read = single.cacheRead(
      { key: "u:{id}", ttl: 3600 },
      ({ id }) => userValue(id),
    );
    for (let id = 0; id < 100; id++) await read({ id });
    const timed = (batch) => async () => {
      const until = performance.now() + RUN_MS;
      let ops = 0;
      do {
        for (let k = 0; k < 20; k++) await batch();
        ops += 20;
      } while (performance.now() < until);
      return ops;
    };
    runs.push([
      "getOrSetMany of 100",
      timed(() => many.getOrSetMany(names, loadMany, { ttl: 3600 })),
    ]);
    runs.push([
      "100 single cacheRead hits",
      timed(async () => {
        for (let id = 0; id < 100; id++) await read({ id });
      }),
    ]);
    return { "100 hits, memory": runs };
  },
  /** Profiled only (bench/writes.mjs measures it): each call a new key, into a store already full. */
  async miss() {
    const cache = await ourCache(100_000);
    const read = cache.cacheRead(
      { key: "u:{id}", ttl: 3600 },
      ({ id }) => userValue(id),
    );
    let id = 0;
    while (id < 100_000) await read({ id: id++ });
    return {
      miss: [["ours miss+write", async () => {
        const until = performance.now() + RUN_MS;
        let ops = 0;
        do {
          for (let k = 0; k < 200; k++) await read({ id: id++ });
          ops += 200;
        } while (performance.now() < until);
        return ops;
      }]],
    };
  },
  /** Profiled only (bench/hit_ratio.mjs measures it): the CloudPhysics trace replayed through our store at 10 %. */
  async replay() {
    const { readFileSync } = await import("node:fs");
    const trace = readFileSync(
      new URL("traces/cloudPhysicsIO.txt", import.meta.url),
      "utf8",
    ).trim().split("\n");
    const capacity = Math.round(new Set(trace).size * 0.1);
    return {
      "CloudPhysics 10%": [["ours", () => {
        const store = memoryStore({ maxEntries: capacity, maxBytes: 2 ** 40 });
        const keys = [""];
        for (const k of trace) {
          keys[0] = `k${k}`;
          if (store.peek(keys)[0] === null) {
            store.setMany([{ key: keys[0], value: "v", ttlMs: 3_600_000 }]);
          }
        }
        return trace.length;
      }]],
    };
  },
  /** Redis: 100 KB values sequential and with 64 callers (with latencies), `getOrSetMany` against raw `MGET`. */
  async redis() {
    const { createClient } = await import("@redis/client");
    const raw = createClient({ url: REDIS_URL });
    await raw.connect();
    const bytes = 102_400, keys = range(200), prefix = `i29${process.pid}`;
    for (const id of keys) {
      await raw.set(
        `${prefix}:raw:${id}`,
        JSON.stringify(sizedValue(id, bytes)),
      );
    }
    const cache = await ours.createCache({
      url: REDIS_URL,
      prefix,
      logger: quiet,
    });
    const plain = cache.cacheRead(
      { key: "v:{id}", ttl: 3600 },
      ({ id }) => sizedValue(id, bytes),
    );
    const tagged = cache.cacheRead(
      { key: "t:{id}", ttl: 3600, tags: ["t:{id}"] },
      ({ id }) => sizedValue(id, bytes),
    );
    for (const id of keys) await plain({ id }), await tagged({ id });
    const subjects = {
      "raw GET+JSON.parse": async (id) => JSON.parse(await raw.get(`${prefix}:raw:${id}`)),
      "ours": (id) => plain({ id }),
      "ours (1 tag)": (id) => tagged({ id }),
    };
    const sequential = Object.entries(subjects).map((
      [name, get],
    ) => [name, hitRun(get, keys)]);
    const concurrent = Object.entries(subjects).map((
      [name, get],
    ) => [name, async () => {
      const until = performance.now() + RUN_MS, latencies = [];
      let next = 0;
      await Promise.all(
        range(64).map(async () => {
          while (performance.now() < until) {
            const t0 = performance.now();
            await get(next++ % keys.length);
            latencies.push(performance.now() - t0);
          }
        }),
      );
      latencies.sort((a, b) => a - b);
      return {
        ops: latencies.length,
        p999: latencies[Math.floor(latencies.length * 0.999)],
      };
    }]);
    const names = range(100).map((id) => `m:${id}`);
    for (const id of range(100)) {
      await raw.set(`${prefix}:rawm:${id}`, JSON.stringify(userValue(id)));
    }
    const loadMany = (missing) => missing.map((k) => userValue(Number(k.slice(2))));
    await cache.getOrSetMany(names, loadMany, { ttl: 3600 });
    const rawNames = range(100).map((id) => `${prefix}:rawm:${id}`);
    const batches = (batch) => async () => {
      const until = performance.now() + RUN_MS;
      let ops = 0;
      do {
        await batch();
        ops++;
      } while (performance.now() < until);
      return ops;
    };
    return {
      "100 KB sequential": sequential,
      "100 KB, 64 callers": concurrent,
      "getOrSetMany of 100 hits": [
        [
          "raw MGET+JSON.parse",
          batches(async () => (await raw.mGet(rawNames)).map((t) => JSON.parse(t))),
        ],
        [
          "ours getOrSetMany",
          batches(() => cache.getOrSetMany(names, loadMany, { ttl: 3600 })),
        ],
      ],
      close: async () => {
        await raw.del([
          ...keys.map((id) => `${prefix}:raw:${id}`),
          ...rawNames,
        ]);
        await cache.close();
        await raw.quit();
      },
    };
  },
};

/** Measures the cell's groups; a run resolving `{ ops, ms }` is timed by its own `ms` (and kept `p999`). */
async function measureCell(groups) {
  const out = {};
  for (const [group, runs] of Object.entries(groups)) {
    if (group === "close") continue;
    const extra = {};
    const timedRuns = runs.map(([name, run, warm]) => [name, async () => {
      const t0 = performance.now();
      const r = await run();
      if (typeof r === "number") return r;
      (extra[name] ??= []).push(r);
      // _rounds.mjs divides by the wall time; scale so that ops/s is r.ops over r.ms where the run timed itself.
      const wall = performance.now() - t0;
      return r.ms === undefined ? r.ops : r.ops * wall / r.ms;
    }, warm]);
    out[group] = await measure(timedRuns, ROUNDS);
    for (const [name, list] of Object.entries(extra)) {
      if (list[0].p999 !== undefined) {
        const p = list.map((r) => r.p999).sort((a, b) => a - b);
        out[group][name].p999Ms = p[p.length >> 1];
      }
    }
  }
  await groups.close?.();
  return out;
}

/** The self time of the profiled runs' functions: the top `n` (name and file) with their share of all samples. */
function topFunctions(profiles, n = 8) {
  const by = new Map();
  let all = 0;
  for (const profile of profiles) {
    eachSample(profile, ({ url, functionName }, us) => {
      if (url === "node:inspector") return; // the profiler's own calls
      const where = url.includes("/npm/esm/")
        ? "ours"
        : url.includes("/node_modules/")
        ? url.split("/node_modules/").pop().split("/")[0]
        : url.split("/").pop();
      const name = `${functionName || "(anonymous)"}${where ? ` (${where})` : ""}`;
      by.set(name, (by.get(name) ?? 0) + us);
      all += us;
    });
  }
  return [...by].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, us]) => ({
    name,
    share: us / all,
  }));
}

/**
 * One subject of one cell alone in this process, under the sampling profiler: its whole runs, or only their
 * timed parts where a run times itself (the profiler started and stopped around each).
 */
async function profileChild(cell, group, subject) {
  const groups = await cells[cell]();
  const [, run] = groups[group].find(([name]) => name === subject);
  await run(); // warm
  const profiles = [];
  timed = async (part) => {
    const { ms, profile } = await profiledRun(part, 100);
    profiles.push(profile);
    return ms;
  };
  let ops = 0, ms = 0;
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    const r = await run();
    ops += typeof r === "number" ? r : r.ops;
    ms += r.ms ?? performance.now() - t0;
  }
  if (profiles.length === 0) {
    // The run does not time itself: profile it whole.
    ops = 0;
    const whole = await profiledRun(async () => {
      for (let k = 0; k < 3; k++) {
        const r = await run();
        ops += typeof r === "number" ? r : r.ops;
      }
    }, 100);
    ms = whole.ms;
    profiles.push(whole.profile);
  }
  await groups.close?.();
  return { cell, group, subject, opsPerSec: ops / (ms / 1000), top: topFunctions(profiles) };
}

/** Heap bytes per entry of `subject` ("ours" or "bare Map") holding `n` entries of `kind` values. */
async function memoryChild(subject, kind, n) {
  const pad = "x".repeat(1000);
  // Parsed, so every string is flat and its own, as a value read from a database is.
  const load = kind === "1 KB"
    ? (id) => JSON.parse(`{"id":${id},"name":"user ${id}","bio":"${pad}${id}"}`)
    : (id) => ({ id, name: `user ${id}` });
  const heap = () => (globalThis.gc(), process.memoryUsage().heapUsed);
  const before = heap();
  let get;
  if (subject === "bare Map") get = wrapped(new Map(), load);
  else {
    const cache = await ourCache(n);
    const read = cache.cacheRead(
      { key: "u:{id}", ttl: 3600 },
      ({ id }) => load(id),
    );
    get = (id) => read({ id });
  }
  for (let id = 0; id < n; id++) await get(id);
  const written = heap();
  for (let id = 0; id < n; id++) await get(id);
  const inUse = heap();
  globalThis.keep = get;
  return { written: (written - before) / n, inUse: (inUse - before) / n };
}

/** The ours/bare-Map ratio of hits of 1,000 warm keys in this runtime. */
async function runtimeRatioChild() {
  const keys = range(1000);
  const cache = await ourCache(1000);
  const read = cache.cacheRead(
    { key: "u:{id}", ttl: 3600 },
    ({ id }) => userValue(id),
  );
  const get = (id) => read({ id });
  const map = wrapped(new Map(), userValue);
  for (const id of keys) await get(id), await map(id);
  const r = await measure([["ours", hitRun(get, keys)], [
    "bare Map",
    hitRun(map, keys),
  ]], ROUNDS);
  return {
    ours: r.ours.opsPerSec,
    map: r["bare Map"].opsPerSec,
    ratio: r.ours.opsPerSec / r["bare Map"].opsPerSec,
  };
}

const node = (args, opts = {}) =>
  JSON.parse(
    execFileSync(process.execPath, args, {
      encoding: "utf8",
      maxBuffer: 64 << 20,
      ...opts,
    }).trim().split("\n")
      .at(-1),
  );

if (process.argv[2] === "--profile") {
  console.log(
    JSON.stringify(
      await profileChild(process.argv[3], process.argv[4], process.argv[5]),
    ),
  );
  process.exit(0);
}
if (process.argv[2] === "--memory") {
  console.log(
    JSON.stringify(
      await memoryChild(
        process.argv[3],
        process.argv[4],
        Number(process.argv[5]),
      ),
    ),
  );
  process.exit(0);
}
if (process.argv[2] === "--runtime-ratio") {
  console.log(JSON.stringify(await runtimeRatioChild()));
  process.exit(0);
}

const chosen = new Set(
  (arg("--cells") ?? "sizes,first,zipf,tags,batch,memory,cold,bun,redis").split(
    ",",
  ),
);
const out = { node: process.version, runMs: RUN_MS, rounds: ROUNDS };
for (const cell of Object.keys(cells)) {
  if (!chosen.has(cell) || (cell === "redis" && !REDIS_URL)) continue;
  console.error(`# issue 29: ${cell}`);
  out[cell] = await measureCell(await cells[cell]());
}
if (chosen.has("memory")) {
  console.error(
    "# issue 29: memory per entry at 1M entries (one process per subject and value)",
  );
  out.memory = {};
  for (const kind of ["{id,name}", "1 KB"]) {
    out.memory[kind] = {};
    for (const subject of ["bare Map", "ours"]) {
      out.memory[kind][subject] = node([
        "--expose-gc",
        "--max-old-space-size=12000",
        join(here, "issue29.mjs"),
        "--memory",
        subject,
        kind,
        "1000000",
      ]);
    }
  }
}
if (chosen.has("cold")) {
  console.error("# issue 29: cold start (fresh processes)");
  out.cold = coldStart();
}
if (chosen.has("bun")) {
  console.error("# issue 29: ours/bare Map on Bun and Node");
  const bun = join(root, "node_modules/.bin/bun");
  const runs = { node: [], bun: [] };
  for (let round = 0; round < 3; round++) {
    for (const runtime of round % 2 ? ["bun", "node"] : ["node", "bun"]) {
      const cmd = runtime === "node" ? process.execPath : bun;
      const text = execFileSync(cmd, [
        join(here, "issue29.mjs"),
        "--runtime-ratio",
        String(RUN_MS),
        "5",
      ], {
        encoding: "utf8",
      });
      runs[runtime].push(JSON.parse(text.trim().split("\n").at(-1)));
    }
  }
  const median = (xs) => xs.sort((a, b) => a.ratio - b.ratio)[xs.length >> 1];
  out.bun = {
    version: execFileSync(bun, ["--version"], { encoding: "utf8" }).trim(),
    node: median(runs.node),
    bun: median(runs.bun),
  };
}
if (!arg("--cells")) {
  console.error(
    "# issue 29: profiles of our subject in each cell (each alone in its own process)",
  );
  out.profiles = {};
  for (
    const [cell, group, subject] of [
      ["sizes", "102400", "ours"],
      ["first", "100 KB", "ours first hit"],
      ["zipf", "1M keys, 100k capacity", "@svc-infra/cache"],
      ["tags", "1,000 keys", "5 tags, a function"],
      ["tags", "1,000 keys", "20 tag templates"],
      ["batch", "100 hits, memory", "getOrSetMany of 100"],
      ["miss", "miss", "ours miss+write"],
      ["replay", "CloudPhysics 10%", "ours"],
      ...(REDIS_URL
        ? [["redis", "100 KB sequential", "ours"], [
          "redis",
          "getOrSetMany of 100 hits",
          "ours getOrSetMany",
        ]]
        : []),
    ]
  ) {
    if (
      cell === "replay" && !existsSync(join(here, "traces/cloudPhysicsIO.txt"))
    ) continue;
    const args = [
      join(here, "issue29.mjs"),
      "--profile",
      cell,
      group,
      subject,
      String(RUN_MS),
    ];
    out.profiles[`${cell}/${group}/${subject}`] = node(
      REDIS_URL ? [...args, "--redis", REDIS_URL] : args,
    );
  }
}
console.log(JSON.stringify(out, null, 1));
process.exit(0);

/**
 * Import + first cached call in a fresh process (bench/_cold.mjs), 9 runs each on Node and Deno, medians; and
 * Node's median run profiled from before the import to after the call: the costliest functions and files.
 */
function coldStart() {
  const deno = join(root, "node_modules/.bin/deno");
  const script = join(here, "_cold.mjs");
  const runs = { node: [], deno: [] };
  execFileSync(deno, ["run", "-A", script], { encoding: "utf8" }); // Deno compiles the TypeScript once, cached
  for (let round = 0; round < 9; round++) {
    runs.node.push(node([script]));
    runs.deno.push(
      JSON.parse(
        execFileSync(deno, ["run", "-A", script], { encoding: "utf8" }).trim(),
      ),
    );
  }
  const median = (xs, field) => xs.map((r) => r[field]).sort((a, b) => a - b)[xs.length >> 1];
  const summary = (xs) => ({
    importMs: median(xs, "importMs"),
    firstCallMs: median(xs, "firstCallMs"),
    totalMs: median(xs, "totalMs"),
  });
  return {
    node: summary(runs.node),
    deno: summary(runs.deno),
    profile: node([script, "--profile"]),
  };
}
