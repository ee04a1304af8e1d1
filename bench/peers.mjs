// @svc-infra/cache beside its peers, in one Node process, subjects interleaved round-robin (the order rotated each
// round); results are medians over rounds and are reported as ratios, since absolute numbers drift on shared
// machines. Run through `npm run bench` (it builds the package and installs the peers). Prints JSON.
//   node --expose-gc bench/peers.mjs [runMs] [rounds]      all in-process scenarios
//   node --expose-gc bench/peers.mjs --memory <subject>    heap bytes per entry of one subject
//   node bench/peers.mjs --bundle                          bundle sizes (neutral platform, as edge bundlers)
import { build } from "esbuild";
import { builtinModules } from "node:module";
import { measure } from "./_rounds.mjs";
import { peers, sequence, subjects } from "./_subjects.mjs";
import { userValue as value } from "./_value.mjs";

/**
 * How long each timed run of the hit benchmark lasts. A fixed time, not a fixed count: a count the slowest peer
 * needs seconds for takes our hits a tenth of a second, too short a sample on this noisy machine.
 */
const RUN_MS = Number(process.argv[2] ?? 300);
const ROUNDS = Number(process.argv[3] ?? 7);
/** Working-set sizes the hit benchmark sweeps (`--quick`: the smallest two). */
const SIZES = process.argv.includes("--quick-sizes") ? [1000, 10_000] : [1000, 10_000, 100_000];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Hits per second of every subject at each working-set size and distribution, each cell interleaved. */
async function memoryHits() {
  const out = {};
  for (const size of SIZES) {
    for (const distribution of ["uniform", "zipf"]) {
      const ids = sequence(size, distribution);
      const runs = [];
      for (const [name, make] of Object.entries(subjects)) {
        const s = await make(false, size);
        for (let id = 0; id < size; id++) await s.get(id);
        let i = 0;
        runs.push([name, async () => {
          const until = performance.now() + RUN_MS;
          let ops = 0;
          do {
            for (let k = 0; k < 1000; k++) await s.get(ids[i++ & 0xffff]);
            ops += 1000;
          } while (performance.now() < until);
          return ops;
        }]);
      }
      out[`${size} ${distribution}`] = await measure(runs, ROUNDS);
    }
  }
  return out;
}

/** What the copy of a hit costs (default mode never shares objects): copying the value's JSON tree, per hit. */
function copyCost() {
  const tree = JSON.parse(JSON.stringify(value(1)));
  const n = 500_000;
  const clone = (v) => {
    if (typeof v !== "object" || v === null) return v;
    if (Array.isArray(v)) return v.map(clone);
    const o = {};
    for (const k in v) o[k] = clone(v[k]);
    return o;
  };
  const t0 = performance.now();
  for (let k = 0; k < n; k++) clone(tree);
  return ((performance.now() - t0) * 1e6) / n;
}

async function stampede() {
  const out = {};
  for (const [name, make] of Object.entries(subjects)) {
    if (name.endsWith("zeroCopy")) continue;
    const s = await make(false);
    let loads = 0;
    const load = async (id) => (loads++, await sleep(50), value(id));
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: 1000 }, () => s.get(42, load)));
    out[name] = {
      loaderCalls: loads,
      ms: performance.now() - t0,
      allCorrect: results.every((r) => r?.id === 42),
    };
  }
  return out;
}

async function invalidation() {
  const out = {};
  for (const name of ["@svc-infra/cache", "bentocache", "async-cache-dedupe"]) {
    out[name] = {};
    for (const n of [1, 1000, 10_000]) {
      const s = await subjects[name](true);
      for (let id = 0; id < n; id++) await s.get(id, value, true);
      const t0 = performance.now();
      await s.invalidate("all");
      const invalidateMs = performance.now() - t0;
      const t1 = performance.now();
      for (let id = 0; id < n; id++) await s.get(id, value, true);
      out[name][n] = { invalidateMs, rereadUsPerKey: ((performance.now() - t1) * 1000) / n };
    }
  }
  return out;
}

/**
 * Heap bytes per cached entry of one subject, measured in its own process: after every entry is written
 * (`written`), and after each is read once (`inUse`: what a subject keeps for an entry in use; ours decodes an
 * entry on its first hit and keeps the decoded form beside the stored text).
 */
async function memoryPerEntry(name) {
  const N = 20_000;
  const s = await subjects[name](false);
  const heap = async () => {
    await sleep(10);
    globalThis.gc();
    return process.memoryUsage().heapUsed;
  };
  const before = await heap();
  for (let id = 0; id < N; id++) await s.get(id);
  const written = await heap();
  for (let id = 0; id < N; id++) await s.get(id);
  const inUse = await heap();
  globalThis.keep = s;
  return { written: (written - before) / N, inUse: (inUse - before) / N };
}

async function bundleSizes() {
  const entries = {
    "@svc-infra/cache": 'export { initCache, cacheRead, cacheWrite } from "../npm/esm/mod.js";',
    "bentocache":
      'export { BentoCache, bentostore } from "bentocache"; export { memoryDriver } from "bentocache/drivers/memory";',
    "cache-manager": 'export { createCache } from "cache-manager";',
    "cachified+lru-cache":
      'export { cachified } from "@epic-web/cachified"; export { LRUCache } from "lru-cache";',
    "async-cache-dedupe": 'export { createCache } from "async-cache-dedupe";',
    "@unkey/cache":
      'export { createCache, Namespace, DefaultStatefulContext } from "@unkey/cache"; export { MemoryStore } from "@unkey/cache/stores";',
  };
  const out = {};
  for (const [name, contents] of Object.entries(entries)) {
    // Code-split like an edge bundler ships it: the entry and what it imports statically (lazy chunks excluded).
    const result = await build({
      stdin: { contents, resolveDir: new URL(".", import.meta.url).pathname },
      bundle: true,
      minify: true,
      format: "esm",
      // What edge bundlers do: no Node defaults; packages resolved by their module or main fields.
      platform: "neutral",
      mainFields: ["module", "main"],
      splitting: true,
      outdir: "/tmp/bench-bundle",
      write: false,
      metafile: true,
      external: [
        "@redis/client",
        "cluster-key-slot",
        "@upstash/redis",
        "@deno/kv",
        "hono",
        "fast-check",
        "ioredis",
        // Node built-ins are the runtime's (Workers' nodejs_compat provides them), not the bundle's.
        "node:*",
        ...builtinModules,
      ],
      logLevel: "silent",
    });
    const outputs = result.metafile.outputs;
    const entry = Object.keys(outputs).find((o) => outputs[o].entryPoint === "<stdin>");
    const initial = new Set([
      entry,
      ...outputs[entry].imports.filter((i) => i.kind === "import-statement").map((i) => i.path),
    ]);
    const parts = result.outputFiles.filter((f) =>
      [...initial].some((p) => f.path.endsWith(p.replace(/^.*bench-bundle/, "")))
    );
    const bytes = new Uint8Array(parts.flatMap((f) => [...f.contents]));
    const gz = await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer();
    out[name] = { minified: bytes.byteLength, gzipped: gz.byteLength };
  }
  return out;
}

if (process.argv[2] === "--bundle") {
  console.log(JSON.stringify(await bundleSizes()));
  process.exit(0);
}
if (process.argv[2] === "--memory") {
  console.log(JSON.stringify(await memoryPerEntry(process.argv[3])));
  process.exit(0);
}
console.log(JSON.stringify({
  node: process.version,
  runMs: RUN_MS,
  rounds: ROUNDS,
  memoryHits: await memoryHits(),
  copyNsPerHit: copyCost(),
  stampede: await stampede(),
  invalidation: await invalidation(),
  bundle: await bundleSizes(),
  subjects: Object.keys(subjects),
  peers,
}));
process.exit(0);
