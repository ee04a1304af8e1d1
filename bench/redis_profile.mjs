// Where a Redis hit's CPU time goes: each subject (raw node-redis GET + JSON.parse, and @svc-infra/cache with
// one tag) runs alone in a child process, sequentially and with 64 concurrent callers, under V8's sampling
// profiler (started for the measured run only, through node:inspector); the samples are summed per part (our
// code, and within it decoding entries; the Redis client; Node's I/O and internals; garbage collection; idle) and
// given as µs per hit.
// Run through `npm run bench`; prints JSON.
//   node bench/redis_profile.mjs <redis-url> [ops]
//   node bench/redis_profile.mjs --child <redis-url> <subject> <callers> <ops>   (one profiled run)
import { execFileSync } from "node:child_process";

const KEYS = 1000;
const value = (id) => ({
  id,
  name: `user ${id}`,
  email: `user${id}@example.com`,
  roles: ["reader"],
});

/**
 * Sums a profile's sample intervals (µs) per part. A sample in a built-in (no script, such as `JSON.parse`) counts
 * for the script that called it; `decode` is the share of `ours` spent in decoding entries.
 */
function parts(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) {
    for (const child of n.children ?? []) parent.set(child, n);
  }
  const sums = { ours: 0, decode: 0, client: 0, node: 0, gc: 0, idle: 0 };
  for (let k = 0; k < profile.samples.length; k++) {
    let n = byId.get(profile.samples[k]);
    const name = n.callFrame.functionName;
    const dt = profile.timeDeltas[k];
    if (name === "(idle)") sums.idle += dt;
    else if (name === "(garbage collector)") sums.gc += dt;
    else {
      while (n.callFrame.url === "" && parent.has(n.id)) n = parent.get(n.id);
      const url = n.callFrame.url;
      const part = url.includes("/npm/") ? "ours" : url.includes("@redis") ? "client" : "node";
      sums[part] += dt;
      if (part === "ours" && n.callFrame.functionName === "decodeEntry") {
        sums.decode += dt;
      }
    }
  }
  return sums;
}

if (process.argv[2] === "--child") {
  const [, , , url, subject, callers, ops] = process.argv;
  const { createClient } = await import("@redis/client");
  const { Session } = await import("node:inspector/promises");
  const ours = await import("../npm/esm/mod.js");
  const raw = createClient({ url });
  await raw.connect();
  const prefix = `prof${process.pid}`;
  const cache = await ours.createCache({ url, prefix });
  const getUser = cache.cacheRead(
    { key: "user:{id}", tags: ["user:{id}"], ttl: 3600 },
    ({ id }) => value(id),
  );
  for (let id = 0; id < KEYS; id++) {
    await raw.set(`${prefix}:raw:${id}`, JSON.stringify(value(id)));
    await getUser({ id });
  }
  let i = 0;
  const op = subject === "raw"
    ? async () => JSON.parse(await raw.get(`${prefix}:raw:${i++ % KEYS}`))
    : () => getUser({ id: i++ % KEYS });
  const run = async (n) => {
    let left = n;
    await Promise.all(Array.from({ length: Number(callers) }, async () => {
      while (left-- > 0) await op();
    }));
  };
  await run(Number(ops) / 4); // warm-up
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  await session.post("Profiler.start");
  const t0 = performance.now();
  await run(Number(ops));
  const ms = performance.now() - t0;
  const { profile } = await session.post("Profiler.stop");
  session.disconnect();
  const sums = parts(profile);
  const sampled = sums.ours + sums.client + sums.node + sums.gc + sums.idle;
  // Samples cover the run; scaled to its wall time, then shared out per hit.
  const perHit = Object.fromEntries(
    Object.entries(sums).map((
      [k, v],
    ) => [k, (v / sampled) * ms * 1000 / Number(ops)]),
  );
  console.log(
    JSON.stringify({ hitsPerSec: Number(ops) / (ms / 1000), usPerHit: perHit }),
  );
  await cache.close();
  await raw.close();
  process.exit(0);
}

const [url, opsArg] = process.argv.slice(2);
const ops = Number(opsArg ?? 20_000);
const out = {};
for (const callers of [1, 64]) {
  for (const subject of ["raw", "ours"]) {
    const text = execFileSync(process.execPath, [
      new URL(import.meta.url).pathname,
      "--child",
      url,
      subject,
      String(callers),
      String(callers === 1 ? ops : ops * 4),
    ], { encoding: "utf8" });
    out[`${subject} ${callers}`] = JSON.parse(text.trim().split("\n").at(-1));
  }
}
console.log(JSON.stringify(out));
