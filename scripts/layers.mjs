#!/usr/bin/env node
// The import rules of the core, checked (`node scripts/layers.mjs`; `npm test` runs it as a static check):
// every import of a module in `src/`, `adapters/` and `mod.ts` points down the layer order below or stays in
// its own layer, and no chain of imports comes back to where it started. Type-only imports count: a type
// cycle is still a knot the next change has to untie. Specifiers are read from `import … from`, `export … from`,
// side-effect `import "…"` and `import("…")` (in code or types); packages (not relative paths) are not modules
// of ours. `*_test.ts` files are left out: a test may reach any module it tests.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The layers, top first. A module may import from its own layer and the layers below it, never above. Each
 * entry is a list of paths (a path ending in `/` takes a folder's files). Every module must be listed: a new
 * file gets a place here, so its imports are checked from the start.
 */
export const LAYERS = [
  // The entry points: the package's exports, the Hono middleware, and the test helpers published as
  // `./testing` (which drive the whole public API as a user would, so they may reach any layer).
  ["entries", [
    "mod.ts",
    "src/testing/",
    "src/hono/",
    "src/l1/mod.ts",
    "src/integrity/mod.ts",
    "src/telemetry/mod.ts",
  ]],
  // The public calls (`api/`): opening caches, the instance API, cached functions, resources, Prometheus.
  ["calls", ["src/api/", "src/observe/prometheus.ts"]],
  // The read paths (`read/`): a cached function's call, batches, `get`/`has`; and the in-process store's peek
  // as a near tier (it reads through the cache's parts).
  ["reads", ["src/read/", "src/tier/memory_peek.ts"]],
  // Loading (`load/`): the load after a miss, what it stakes out (claim, lock) and how its entries are written.
  ["loads", ["src/load/"]],
  // The features as the core sees them (what `l1:`, `integrity:`, `telemetry:` carry).
  ["features", ["src/api/features.ts"]],
  // One cache: the parts of the engine, made once when it opens.
  ["context", ["src/engine/context.ts"]],
  // The engine's parts (`engine/`), one concept each: settings, key spaces, diagnostics, guarded store calls,
  // background work, flights, invalidation. Each receives only what it needs from the others.
  ["engine", ["src/engine/"]],
  // The L1 tier: it declares what it needs from its cache (`L1Host`) instead of importing the context.
  ["l1", ["src/l1/"]],
  // The parts a read is made of, and the near-tier contract; none imports the context (each declares the little
  // it needs from it).
  ["parts", [
    "src/keys/read_keys.ts",
    "src/keys/tags.ts",
    "src/engine/read_batch.ts",
    "src/engine/invalidation_queue.ts",
    "src/engine/landing_log.ts",
    "src/read/options.ts",
    "src/read/schema.ts",
    "src/load/flight.ts",
    "src/entry/verdict.ts",
    "src/entry/value.ts",
    "src/entry/negative.ts",
    "src/tier/near_tier.ts",
    "src/telemetry/otel.ts",
  ]],
  // Stores (`store/`, `adapters/`): the in-memory store, the adapters, the integrity wrapper, the URL that picks one.
  ["stores", [
    "adapters/",
    "src/integrity/",
    "src/store/memory_store.ts",
    "src/store/memory_slots.ts",
    "src/store/memory_held.ts",
    "src/store/memory_scopes.ts",
    "src/store/s3_fifo.ts",
    "src/store/url.ts",
  ]],
  // The store contract and what every store and reader shares: the interface, tokens, the entry envelope.
  ["contract", ["src/store/store.ts", "src/entry/token.ts", "src/entry/entry.ts"]],
  // Helpers that know nothing of caches or stores.
  ["base", [
    "src/base/",
    "src/keys/template.ts",
    "src/keys/name.ts",
    "src/entry/codec.ts",
    "src/entry/versions.ts",
    "src/engine/breaker.ts",
    "src/engine/deadline.ts",
    "src/observe/events.ts",
    "src/observe/metrics.ts",
    "src/load/loader_context.ts",
    "src/api/option_names.ts",
    "src/read/xfetch.ts",
  ]],
];

/**
 * Imports known to break the rules, each with why it is still there. The check fails on any other violation,
 * and on an entry here that no longer exists (so the list only shrinks). An entry is `"from -> to"`.
 */
export const KNOWN = {};

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The modules checked, as paths relative to the root. */
function modules() {
  const out = ["mod.ts"];
  const walk = (dir) => {
    for (const name of readdirSync(join(root, dir)).sort()) {
      const path = join(dir, name);
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (name.endsWith(".ts") && !name.endsWith("_test.ts")) out.push(path);
    }
  };
  walk("src");
  walk("adapters");
  return out;
}

/** Comments removed, keeping strings (a `//` inside a specifier or URL string stays). */
function withoutComments(text) {
  return text.replace(
    /("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g,
    (_m, s) => s ?? "",
  );
}

const SPECIFIER =
  /\b(?:import|export)\s+(?:type\s+)?(?:[\w$*{}\s,]+?\s+from\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** The specifiers a module's text imports or re-exports, type-only ones included. */
export function specifiers(text) {
  return [...withoutComments(text).matchAll(SPECIFIER)].map((m) => m[1] ?? m[2]);
}

/** Each module's imports of other modules of ours: `Map<from, Set<to>>`. */
export function importGraph() {
  const graph = new Map();
  for (const file of modules()) {
    const edges = new Set();
    for (const specifier of specifiers(readFileSync(join(root, file), "utf8"))) {
      if (specifier.startsWith(".")) edges.add(normalize(join(dirname(file), specifier)));
    }
    graph.set(file, edges);
  }
  return graph;
}

/** The layer index of `file` (0 is the top), the most specific entry winning; `undefined` when unlisted. */
function layerOf(file) {
  let best;
  LAYERS.forEach(([, paths], index) => {
    for (const path of paths) {
      const match = path.endsWith("/") ? file.startsWith(path) : file === path;
      if (match && (!best || path.length > best.length)) best = { length: path.length, index };
    }
  });
  return best?.index;
}

/** The strongly connected components with more than one module (or a module importing itself): the cycles. */
function cycles(graph) {
  let next = 0;
  const index = new Map(), low = new Map(), stack = [], onStack = new Set(), out = [];
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v).has(v)) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** One shortest import chain from `from` back to itself within `members`, for the message. */
function loopThrough(graph, from, members) {
  const previous = new Map([[from, undefined]]);
  const queue = [from];
  while (queue.length) {
    const v = queue.shift();
    for (const w of graph.get(v)) {
      if (w === from) {
        const path = [v];
        for (let p = previous.get(v); p !== undefined; p = previous.get(p)) path.unshift(p);
        return [...path, from].join(" -> ");
      }
      if (members.has(w) && !previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
}

/** The violations: `{ unlisted, missing, upward, cycles, stale }`, each a list of strings. */
export function check(graph = importGraph(), known = KNOWN) {
  const unlisted = [...graph.keys()].filter((f) => layerOf(f) === undefined);
  const missing = [];
  const upward = [];
  const used = new Set();
  const allowed = (edge) => {
    if (!(edge in known)) return false;
    used.add(edge);
    return true;
  };
  const pruned = new Map();
  for (const [from, tos] of graph) {
    const kept = new Set();
    for (const to of tos) {
      const edge = `${from} -> ${to}`;
      if (!graph.has(to)) {
        missing.push(edge);
        continue;
      }
      const up = layerOf(to) < layerOf(from);
      if (allowed(edge)) continue;
      if (up) upward.push(`${edge} (${LAYERS[layerOf(from)][0]} imports ${LAYERS[layerOf(to)][0]})`);
      kept.add(to);
    }
    pruned.set(from, kept);
  }
  const loops = cycles(pruned).map((members) => {
    const set = new Set(members);
    return `${members.length} modules: ${loopThrough(pruned, members[0], set)} (all: ${members.join(", ")})`;
  });
  const stale = Object.keys(known).filter((edge) => !used.has(edge));
  return { unlisted, missing, upward, cycles: loops, stale };
}

if (process.argv[1] && relative(process.argv[1], fileURLToPath(import.meta.url)) === "") {
  const graph = importGraph();
  const result = check(graph);
  const all = check(graph, {});
  const edges = [...graph.values()].reduce((n, s) => n + s.size, 0);
  console.log(
    `# layers: ${graph.size} modules, ${edges} imports; ${all.cycles.length} cycles and ${all.upward.length} upward imports in all, ${
      Object.keys(KNOWN).length
    } known`,
  );
  const sections = [
    ["modules in no layer (add them to LAYERS)", result.unlisted],
    ["imports of files that do not exist", result.missing],
    ["imports that point up a layer", result.upward],
    ["import cycles", result.cycles],
    ["KNOWN entries that no longer exist (remove them)", result.stale],
  ];
  let failed = false;
  for (const [title, list] of sections) {
    if (!list.length) continue;
    failed = true;
    console.log(`${title}:`);
    for (const line of list) console.log(`  ${line}`);
  }
  process.exitCode = failed ? 1 : 0;
}
