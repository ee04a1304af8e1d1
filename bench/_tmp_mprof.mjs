import { eachSample, profiledRun } from "./_profile.mjs";
import { lcg, zipfSampler } from "./_random.mjs";
const [subject, keysArg, dist, opsArg, build] = process.argv.slice(2);
const KEYS = Number(keysArg), ops = Number(opsArg ?? 2e6);
const value = (id) => ({
  id,
  name: `user ${id}`,
  email: `user${id}@example.com`,
  roles: ["reader", "writer"],
});
const base = build === "old" ? "../.ab_old/npm/esm/" : "../npm/esm/";
const ours = await import(base + "mod.js");
const { memoryStore } = await import(base + "adapters/memory.js");
let get;
if (subject === "map") {
  const map = new Map();
  get = async (id) => {
    let v = map.get(id);
    if (v === undefined) map.set(id, v = await value(id));
    return v;
  };
} else {
  const cache = await ours.createCache({
    prefix: "bench",
    store: memoryStore({ maxEntries: KEYS, maxBytes: 2 ** 40 }),
  });
  const read = cache.cacheRead(
    { key: "u:{id}", ttl: 3600, zeroCopy: subject === "zc" },
    ({ id }) => value(id),
  );
  get = (id) => read({ id });
}
const n = 1 << 16;
const ids = dist === "uniform"
  ? Uint32Array.from({ length: n }, (_, i) => i % KEYS)
  : Uint32Array.from({ length: n }, zipfSampler(KEYS, 0.99, lcg(42)));
for (let id = 0; id < KEYS; id++) await get(id);
let i = 0;
const run = async (m) => {
  for (let k = 0; k < m; k++) await get(ids[i++ & 0xffff]);
};
await run(ops / 2);
const { ms, profile } = await profiledRun(() => run(ops), 50);
const fns = new Map();
let total = 0;
eachSample(profile, ({ url, functionName }, dt) => {
  const k = (url.includes("/npm/") ? "ours " : "other ") +
    (functionName || "(anon)");
  fns.set(k, (fns.get(k) ?? 0) + dt);
  total += dt;
});
console.log(
  subject,
  KEYS,
  dist,
  "hits/s",
  Math.round(ops / (ms / 1000)),
  "ns/hit",
  (ms * 1e6 / ops).toFixed(0),
);
for (const [k, v] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, 16)) {
  console.log((v / total * ms * 1e6 / ops).toFixed(0).padStart(6), k);
}
process.exit(0);
