// A/B: old build (.ab_old/npm) vs new (npm), Redis hits, interleaved, fixed-time runs.
const [url, callersArg, roundsArg, runMsArg] = process.argv.slice(2);
const callers = Number(callersArg ?? 1),
  rounds = Number(roundsArg ?? 11),
  runMs = Number(runMsArg ?? 1000);
const KEYS = 1000;
const value = (id) => ({
  id,
  name: `user ${id}`,
  email: `user${id}@example.com`,
  roles: ["reader"],
});
const subjects = [];
for (
  const [name, path] of [["old", "../.ab_old/npm/esm/mod.js"], [
    "new",
    "../npm/esm/mod.js",
  ]]
) {
  const ours = await import(path);
  const cache = await ours.createCache({
    url,
    prefix: `ab${name}${process.pid}`,
  });
  const get = cache.cacheRead({
    key: "user:{id}",
    tags: ["user:{id}"],
    ttl: 3600,
  }, ({ id }) => value(id));
  for (let id = 0; id < KEYS; id++) await get({ id });
  let i = 0;
  subjects.push({
    name,
    cache,
    op: () => get({ id: i++ % KEYS }),
    samples: [],
  });
}
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < subjects.length; k++) {
    const s = subjects[(k + r) % subjects.length];
    const until = performance.now() + runMs;
    let ops = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: callers }, async () => {
      while (performance.now() < until) {
        await s.op();
        ops++;
      }
    }));
    s.samples.push(ops / ((performance.now() - t0) / 1000));
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const s of subjects) console.log(s.name, Math.round(med(s.samples)));
console.log(
  "new/old",
  (med(subjects[1].samples) / med(subjects[0].samples)).toFixed(3),
  "pairwise median",
  med(subjects[1].samples.map((x, i) => x / subjects[0].samples[i])).toFixed(3),
);
for (const s of subjects) await s.cache.close();
process.exit(0);
