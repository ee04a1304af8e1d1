// The two-level cache (`l1`) beside the memory tier, a plain Redis hit and bentocache's hybrid cache (memory L1
// + Redis L2 + Redis bus), in one Node process, subjects interleaved round-robin; then the requests each
// subject sends per hit over a window, on Redis (counted by the server) and on Upstash (counted by the
// bridge). Each hit checks one tag. Run through `npm run bench`. Prints JSON.
//   node bench/l1_hits.mjs <redis-url> <upstash-url> <upstash-token> [run-ms] [rounds]
import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { redisBusDriver, redisDriver } from "bentocache/drivers/redis";
import { createClient } from "@redis/client";
import * as ours from "../npm/esm/mod.js";
import { twoLevel } from "../npm/esm/l1.js";
import { memoryStore } from "../npm/esm/adapters/memory.js";
import { measure } from "./_rounds.mjs";

const [redisUrl, upstashUrl, upstashToken] = process.argv.slice(2);
/**
 * How long each timed run lasts. A fixed time, not a fixed count: a count that takes Redis seconds takes our
 * L1 a tenth of a second, too short a sample on this noisy machine (100k-hit runs differed 1.5x between two
 * copies of the same code).
 */
const RUN_MS = Number(process.argv[5] ?? 300);
const ROUNDS = Number(process.argv[6] ?? 7);
/**
 * Hot-set sizes swept. Every subject is sized to hold the hot set: the memory store and bentocache's L1 keep
 * each entry's tag beside it (two items per key), our L1 keeps entries only.
 */
const SIZES = [1000, 10_000];
/** The staleness bound of our L1 subjects (the default). */
const MAX_STALE_MS = 1000;
/** How long the requests-per-hit windows last: several bounds, so validations are in them. */
const WINDOW_MS = 3 * MAX_STALE_MS;
const value = (id) => ({
  id,
  name: `user ${id}`,
  email: `user${id}@example.com`,
  roles: ["reader"],
});
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** One of our caches over `options`, with a tagged cached function. */
async function ourSubject(options) {
  const prefix = `l1b${Math.random().toString(36).slice(2, 8)}`;
  const cache = await ours.createCache({ prefix, logger: quiet, ...options });
  const get = cache.cacheRead(
    { key: "u:{id}", tags: ["u:{id}"], ttl: 3600 },
    ({ id }) => value(id),
  );
  return { get: (id) => get({ id }), close: () => cache.close() };
}

const subjectsFor = (size) => ({
  "@svc-infra/cache memory tier": () =>
    ourSubject({
      store: memoryStore({ maxEntries: 2 * size, maxBytes: 2 ** 40 }),
    }),
  "@svc-infra/cache l1 on redis": () =>
    ourSubject({
      url: redisUrl,
      l1: twoLevel({ maxEntries: size, maxStaleMs: MAX_STALE_MS }),
    }),
  "@svc-infra/cache redis (no l1)": () => ourSubject({ url: redisUrl }),
  "bentocache memory+redis+bus": () => {
    const connection = redisConnection(redisUrl);
    const bento = new BentoCache({
      default: "hybrid",
      stores: {
        hybrid: bentostore()
          .useL1Layer(memoryDriver({ maxItems: 2 * size }))
          .useL2Layer(
            redisDriver({
              connection,
              prefix: `bento${Math.random().toString(36).slice(2, 8)}`,
            }),
          )
          .useBus(redisBusDriver({ connection })),
      },
    });
    return {
      get: (id) =>
        bento.getOrSet({
          key: `u:${id}`,
          ttl: "1h",
          tags: [`u:${id}`],
          factory: () => value(id),
        }),
      close: () => bento.disconnectAll(),
    };
  },
});

function redisConnection(url) {
  const { hostname, port } = new URL(url);
  return { host: hostname, port: Number(port) };
}

/** Sequential hits per second of every subject at each hot-set size, interleaved. */
async function hits() {
  const out = {};
  for (const size of SIZES) {
    const runs = [], opened = [];
    for (const [name, make] of Object.entries(subjectsFor(size))) {
      const s = await make();
      opened.push(s);
      const warm = async () => {
        for (let id = 0; id < size; id++) await s.get(id);
      };
      await warm(); // and before each timed run: meanwhile the other subjects ran and our L1 entries aged past the bound
      let i = 0;
      runs.push([name, async () => {
        const until = performance.now() + RUN_MS;
        let ops = 0;
        do {
          for (let k = 0; k < 1000; k++) await s.get(i++ % size);
          ops += 1000;
        } while (performance.now() < until);
        return ops;
      }, warm]);
    }
    out[size] = await measure(runs, ROUNDS);
    for (const s of opened) await s.close();
  }
  return out;
}

/**
 * Requests the Redis server has served so far: every command it ran (INFO commandstats), less the INFO calls
 * themselves and the GETRANGEs our validation script runs inside its one EVAL.
 */
async function serverRequests(client) {
  const info = await client.info("commandstats");
  let total = 0;
  for (const m of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) {
    if (m[1] !== "info" && m[1] !== "getrange") total += Number(m[2]);
  }
  return total;
}

/** Requests one subject sends per hit while it hits `size` warm keys in turn for WINDOW_MS. */
async function requestsPerHit(subject, size, count) {
  for (let id = 0; id < size; id++) await subject.get(id);
  const before = await count();
  let n = 0;
  const until = performance.now() + WINDOW_MS;
  while (performance.now() < until) await subject.get(n++ % size);
  return {
    hits: n,
    requests: (await count()) - before,
    perHit: ((await count()) - before) / n,
  };
}

const client = createClient({ url: redisUrl });
await client.connect();
const bridgeRequests = async () => (await (await fetch(`${upstashUrl}/__requests`)).json()).requests;
const redisCount = () => serverRequests(client);
const window = {};
for (const [name, make] of Object.entries(subjectsFor(1000))) {
  if (name.includes("memory tier")) continue;
  const s = await make();
  window[`${name}, redis`] = await requestsPerHit(s, 1000, redisCount);
  await s.close();
}
for (
  const [name, options] of Object.entries({
    "@svc-infra/cache l1 on upstash": { l1: twoLevel({ maxStaleMs: MAX_STALE_MS }) },
    "@svc-infra/cache upstash (no l1)": {},
  })
) {
  const s = await ourSubject({
    url: upstashUrl,
    token: upstashToken,
    ...options,
  });
  window[name] = await requestsPerHit(s, 1000, bridgeRequests);
  await s.close();
}
await client.close();
console.log(
  JSON.stringify({
    maxStaleMs: MAX_STALE_MS,
    windowMs: WINDOW_MS,
    runMs: RUN_MS,
    rounds: ROUNDS,
    hits: await hits(),
    window,
  }),
);
