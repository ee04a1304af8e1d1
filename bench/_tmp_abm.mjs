import { lcg, zipfSampler } from "./_random.mjs";
const [keysArg, dist, zc, roundsArg, runMsArg] = process.argv.slice(2);
const KEYS = Number(keysArg),
  rounds = Number(roundsArg ?? 15),
  runMs = Number(runMsArg ?? 300);
const value = (id) => ({
  id,
  name: `user ${id}`,
  email: `user${id}@example.com`,
  roles: ["reader", "writer"],
});
const n = 1 << 16;
const ids = dist === "uniform"
  ? Uint32Array.from({ length: n }, (_, i) => i % KEYS)
  : Uint32Array.from({ length: n }, zipfSampler(KEYS, 0.99, lcg(42)));
const subjects = [];
for (
  const [name, base] of [["old", "../.ab_old/npm/esm/"], ["new", "../npm/esm/"]]
) {
  const ours = await import(base + "mod.js");
  const { memoryStore } = await import(base + "adapters/memory.js");
  const cache = await ours.createCache({
    prefix: "bench",
    store: memoryStore({ maxEntries: KEYS, maxBytes: 2 ** 40 }),
  });
  const read = cache.cacheRead({
    key: "u:{id}",
    ttl: 3600,
    zeroCopy: zc === "zc",
  }, ({ id }) => value(id));
  for (let id = 0; id < KEYS; id++) await read({ id });
  let i = 0;
  subjects.push({
    name,
    get: (id) => read({ id }),
    samples: [],
    next: () => ids[i++ & 0xffff],
  });
}
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < 2; k++) {
    const s = subjects[(k + r) % 2];
    const t0 = performance.now(), until = t0 + runMs;
    let ops = 0;
    do {
      for (let k = 0; k < 1000; k++) await s.get(s.next());
      ops += 1000;
    } while (performance.now() < until);
    s.samples.push(ops / ((performance.now() - t0) / 1000));
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(
  KEYS,
  dist,
  zc,
  subjects.map((s) => s.name + " " + Math.round(med(s.samples) / 1000) + "k")
    .join(" "),
  "new/old",
  (med(subjects[1].samples) / med(subjects[0].samples)).toFixed(3),
  "pairwise",
  med(subjects[1].samples.map((x, i) => x / subjects[0].samples[i])).toFixed(3),
);
process.exit(0);
