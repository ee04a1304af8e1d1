/**
 * A cold burst: 1,000 concurrent callers of one cold key (20 ms loader), with and without `lock`, on Redis, the
 * Upstash bridge and Deno KV; the store calls the whole burst sends (batch reads, batch writes; HTTP requests
 * on Upstash, counted by the bridge), the loader runs and the time to the last answer.
 * Prints JSON. Usage: deno run -A --unstable-kv bench/cold_burst.ts <redis-url> <upstash-url> <upstash-token>
 *
 * @module
 */

import { createCache } from "../mod.ts";
import type { CacheStore } from "../src/store/store.ts";
import { redisStore } from "../adapters/redis.ts";
import { upstashStore } from "../adapters/upstash.ts";
import { denoKvStore } from "../adapters/deno_kv.ts";

const [redisUrl, upstashUrl, upstashToken] = Deno.args;
const CALLERS = 1000;
const requests = async () => (await (await fetch(`${upstashUrl}/__requests`)).json()).requests as number;

/** The store with its batch reads and batch writes counted. */
function counted(store: CacheStore) {
  const calls = { reads: 0, writes: 0 };
  const wrapped: CacheStore = {
    ...store,
    getMany: (keys, o) => (calls.reads++, store.getMany(keys, o)),
    setMany: (writes, o) => (calls.writes++, store.setMany(writes, o)),
  };
  return { calls, store: wrapped };
}

const backends: [string, () => Promise<CacheStore>][] = [
  ["redis", () => Promise.resolve(redisStore(redisUrl))],
  ["upstash", () => Promise.resolve(upstashStore({ url: upstashUrl, token: upstashToken }))],
  ["deno kv", async () => denoKvStore(await Deno.openKv(":memory:"), { closeKv: true })],
];
const rows = [];
for (const [backend, open] of backends) {
  for (const lock of [false, true]) {
    const { calls, store } = counted(await open());
    const cache = await createCache({
      store,
      prefix: `burst${Date.now()}${lock}`,
      lock: lock && { pollMs: 10 },
    });
    let loads = 0;
    const get = cache.cacheRead({ key: "cold", ttl: 60 }, async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 20));
      return { n: 1 };
    });
    const before = backend === "upstash" ? await requests() : 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CALLERS }, () => get()));
    const ms = performance.now() - t0;
    const http = backend === "upstash" ? (await requests()) - before : undefined;
    rows.push({ backend, lock, reads: calls.reads, writes: calls.writes, http, loads, ms });
    await cache.close();
  }
}
console.log(JSON.stringify(rows));
