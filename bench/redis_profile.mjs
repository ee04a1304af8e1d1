// Where a remote hit's time goes: each subject (the raw client's GET + JSON.parse, and @svc-infra/cache with one
// tag) runs alone in a child process, on Redis sequentially and with 64 concurrent callers, on the Upstash bridge
// with 64, under V8's sampling profiler (started for the measured run only, through node:inspector). The samples
// are summed per part (our code, and within it decoding entries; the client, node-redis or @upstash/redis; Node's
// I/O and internals; garbage collection; idle) and given as µs per hit.
// Run through `npm run bench`; prints JSON.
//   node bench/redis_profile.mjs <redis-url> <upstash-url> <upstash-token> [ops]
//   node bench/redis_profile.mjs --child <backend> <url> <token> <subject> <callers> <ops>   (one profiled run)
import { execFileSync } from "node:child_process";
import { eachSample, profiledRun } from "./_profile.mjs";

const KEYS = 1000;
const value = (id) => ({
  id,
  name: `user ${id}`,
  email: `user${id}@example.com`,
  roles: ["reader"],
});

/** Sums a profile's sample intervals (µs) per part; `decode` is the share of `ours` spent in decoding entries. */
function parts(profile) {
  const sums = { ours: 0, decode: 0, client: 0, node: 0, gc: 0, idle: 0 };
  eachSample(profile, ({ url, functionName }, dt) => {
    if (functionName === "(idle)") sums.idle += dt;
    else if (functionName === "(garbage collector)") sums.gc += dt;
    else {
      const part = url.includes("/npm/")
        ? "ours"
        : url.includes("@redis") || url.includes("@upstash")
        ? "client"
        : "node";
      sums[part] += dt;
      if (part === "ours" && functionName === "decodeEntry") sums.decode += dt;
    }
  });
  return sums;
}

/** The subject's hit: a raw client's get and parse, or ours, with the keys written first. */
async function subjectOp(backend, url, token, subject) {
  const ours = await import("../npm/esm/mod.js");
  const prefix = `prof${process.pid}`;
  let rawGet, close;
  if (backend === "redis") {
    const { createClient } = await import("@redis/client");
    const client = createClient({ url });
    await client.connect();
    rawGet = (key) => client.get(key);
    for (let id = 0; id < KEYS; id++) {
      await client.set(`${prefix}:raw:${id}`, JSON.stringify(value(id)));
    }
    close = () => client.close();
  } else {
    const { Redis } = await import("@upstash/redis");
    const client = new Redis({
      url,
      token,
      automaticDeserialization: false,
      enableTelemetry: false,
    });
    rawGet = (key) => client.get(key);
    for (let id = 0; id < KEYS; id++) {
      await client.set(`${prefix}:raw:${id}`, JSON.stringify(value(id)));
    }
    close = async () => {};
  }
  const cache = await ours.createCache({
    url,
    token: backend === "upstash" ? token : undefined,
    prefix,
  });
  const getUser = cache.cacheRead({
    key: "user:{id}",
    tags: ["user:{id}"],
    ttl: 3600,
  }, ({ id }) => value(id));
  for (let id = 0; id < KEYS; id++) await getUser({ id });
  let i = 0;
  const op = subject === "raw"
    ? async () => JSON.parse(String(await rawGet(`${prefix}:raw:${i++ % KEYS}`)))
    : () => getUser({ id: i++ % KEYS });
  return { op, close: async () => (await cache.close(), await close()) };
}

if (process.argv[2] === "--child") {
  const [, , , backend, url, token, subject, callers, opsText] = process.argv;
  const ops = Number(opsText);
  const { op, close } = await subjectOp(backend, url, token, subject);
  const run = async (n) => {
    let left = n;
    await Promise.all(Array.from({ length: Number(callers) }, async () => {
      while (left-- > 0) await op();
    }));
  };
  await run(ops / 4); // warm-up
  const { ms, profile } = await profiledRun(() => run(ops), 100);
  const sums = parts(profile);
  const sampled = sums.ours + sums.client + sums.node + sums.gc + sums.idle;
  // Samples cover the run; scaled to its wall time, then shared out per hit.
  const perHit = Object.fromEntries(
    Object.entries(sums).map(([k, v]) => [k, (v / sampled) * ms * 1000 / ops]),
  );
  console.log(
    JSON.stringify({ hitsPerSec: ops / (ms / 1000), usPerHit: perHit }),
  );
  await close();
  process.exit(0);
}

const [redisUrl, upstashUrl, upstashToken, opsArg] = process.argv.slice(2);
const ops = Number(opsArg ?? 20_000);
const runs = [
  ["redis", 1, ops],
  ["redis", 64, ops * 4],
  ["upstash", 64, ops / 2],
];
const out = {};
for (const [backend, callers, n] of runs) {
  for (const subject of ["raw", "ours"]) {
    const [url, token] = backend === "redis" ? [redisUrl, "-"] : [upstashUrl, upstashToken];
    const text = execFileSync(process.execPath, [
      new URL(import.meta.url).pathname,
      "--child",
      backend,
      url,
      token,
      subject,
      String(callers),
      String(n),
    ], { encoding: "utf8" });
    out[`${backend} ${subject} ${callers}`] = JSON.parse(
      text.trim().split("\n").at(-1),
    );
  }
}
console.log(JSON.stringify(out));
