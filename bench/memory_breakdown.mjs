// Where a memory-tier entry's bytes go: @svc-infra/cache holds the hit benchmark's entries (each written, then
// read once, as the memory-per-entry benchmark does), and a V8 heap snapshot is taken; each object's own size is
// given to the part of an entry that holds it, found by walking from the entry's objects (the decoded entry, the
// store's slot, the remembered key plan) and from the tables of the store's and the plan memo's maps. An object
// reached from two parts counts for the first (the keys, then the value's tree, then what holds them). Bytes per
// entry, beside the heap's growth per entry measured as the memory benchmark does (what no part claims is shown
// as the rest). Run through `npm run bench`; prints JSON.
//   node --expose-gc bench/memory_breakdown.mjs [entries]
import v8 from "node:v8";
import * as ours from "../npm/esm/mod.js";
import { memoryStore } from "../npm/esm/adapters/memory.js";
import { userValue as value } from "./_value.mjs";

const N = Number(process.argv[2] ?? 10_000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const heap = async () => {
  await sleep(10);
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};

const before = await heap();
const cache = await ours.createCache({
  prefix: "bench",
  store: memoryStore({ maxEntries: 100_000, maxBytes: 2 ** 40 }),
});
const get = cache.cacheRead({ key: "u:{id}", ttl: 3600 }, ({ id }) => value(id));
for (let id = 0; id < N; id++) await get({ id });
for (let id = 0; id < N; id++) await get({ id });
globalThis.keep = { cache, get }; // the cached function holds its key plans: both are kept, as in use
const grown = (await heap()) - before;

const chunks = [];
for await (const chunk of v8.getHeapSnapshot()) chunks.push(chunk);
const snapshot = JSON.parse(Buffer.concat(chunks).toString());

const { meta } = snapshot.snapshot;
const nodeFields = meta.node_fields.length, edgeFields = meta.edge_fields.length;
const [typeAt, nameAt, sizeAt, edgesAt] = ["type", "name", "self_size", "edge_count"].map((f) =>
  meta.node_fields.indexOf(f)
);
const [edgeTypeAt, edgeNameAt, edgeToAt] = ["type", "name_or_index", "to_node"].map((f) =>
  meta.edge_fields.indexOf(f)
);
const nodeTypes = meta.node_types[0], edgeTypes = meta.edge_types[0];
const { nodes, edges, strings } = snapshot;
const count = nodes.length / nodeFields;
const type = (n) => nodeTypes[nodes[n * nodeFields + typeAt]];
const size = (n) => nodes[n * nodeFields + sizeAt];
const firstEdge = new Uint32Array(count + 1);
for (let n = 0; n < count; n++) {
  firstEdge[n + 1] = firstEdge[n] + nodes[n * nodeFields + edgesAt] * edgeFields;
}

/** The edges of node `n` that hold data (properties, elements, internals), with their names. */
function* fields(n) {
  for (let e = firstEdge[n]; e < firstEdge[n + 1]; e += edgeFields) {
    const kind = edgeTypes[edges[e + edgeTypeAt]];
    if (kind === "weak" || kind === "shortcut") continue;
    const name = kind === "element" || kind === "hidden" ? "" : strings[edges[e + edgeNameAt]];
    yield [name, edges[e + edgeToAt] / nodeFields];
  }
}
/** What an entry's parts are made of: not hidden classes, prototypes, functions or V8's shared constants. */
function* children(n) {
  for (const [name, to] of fields(n)) {
    if (name === "map" || name === "__proto__" || name === "constructor") continue;
    if (type(to) === "closure" || type(to) === "code" || type(to) === "hidden") continue;
    yield [name, to];
  }
}
const propertyNames = (n) => new Set([...fields(n)].map(([name]) => name));
const has = (names, wanted) => wanted.every((w) => names.has(w));

// The objects each entry is made of, told apart by their fields.
const kinds = { entry: [], slot: [], plan: [], maps: [] };
for (let n = 0; n < count; n++) {
  if (type(n) !== "object") continue;
  const name = strings[nodes[n * nodeFields + nameAt]];
  if (name === "Map") kinds.maps.push(n);
  if (name !== "Object") continue;
  const names = propertyNames(n);
  if (has(names, ["token", "parsed", "versions", "dependencies"])) kinds.entry.push(n);
  else if (has(names, ["key", "queue", "derived", "derive"])) kinds.slot.push(n);
  else if (has(names, ["logical", "keys", "remembered"])) kinds.plan.push(n);
}

const owner = new Map();
/** Gives `from`'s objects (itself included) to `part`, not crossing into those another part owns or starts. */
function claim(part, from, skip = () => false) {
  if (from === undefined) return;
  const stack = [from];
  while (stack.length) {
    const n = stack.pop();
    if (owner.has(n)) continue;
    owner.set(n, part);
    for (const [name, child] of children(n)) {
      if (!owner.has(child) && !starts.has(child) && !skip(n, name)) stack.push(child);
    }
  }
}
const starts = new Set([...kinds.entry, ...kinds.slot, ...kinds.plan]);
const field = (n, wanted) => [...children(n)].find(([name]) => name === wanted)?.[1];
// The keys first (the store's key is made of the logical key, and the plan lists them), then the value's
// tree, then what holds them.
for (const n of kinds.slot) claim("keys (the entry key and the logical key it is made of)", field(n, "key"));
for (const n of kinds.entry) claim("value tree", field(n, "parsed"));
for (const n of kinds.entry) claim("decoded entry: metadata, timestamps, token", n);
// A slot's queue is the store's own (one per store), and its neighbours are other entries' slots.
const notTheSlots = (name) => name === "derived" || name === "queue" || name === "key";
for (const n of kinds.slot) claim("store slot", n, (at, name) => at === n && notTheSlots(name));
const notThePlans = (name) => name === "slot";
for (const n of kinds.plan) {
  claim("remembered key plan (its fields and key list)", n, (at, name) => at === n && notThePlans(name));
}
// The maps' hash tables, told apart by what they hold: the store's slots, or the plans by argument.
const slots = new Set(kinds.slot), plans = new Set(kinds.plan);
for (const n of kinds.maps) {
  for (const [, table] of children(n)) {
    if (type(table) !== "array" || size(table) < N * 8) continue;
    const held = [...children(table)].map(([, to]) => to);
    const part = held.some((to) => slots.has(to))
      ? "store hash table"
      : held.some((to) => plans.has(to))
      ? "plan memo hash table"
      : undefined;
    if (part) claim(part, table, () => true);
  }
}

const parts = {};
for (const [n, part] of owner) parts[part] = (parts[part] ?? 0) + size(n) / N;
const claimed = Object.values(parts).reduce((a, b) => a + b, 0);
console.log(JSON.stringify({
  entries: N,
  bytesPerEntry: grown / N,
  parts,
  rest: grown / N - claimed,
  objects: { entries: kinds.entry.length, slots: kinds.slot.length, plans: kinds.plan.length },
}));
