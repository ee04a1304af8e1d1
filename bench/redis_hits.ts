/**
 * Redis-tier and Upstash hits, one tag per entry (each hit also checks the tag's version):
 * `@svc-infra/cache` against the raw clients on the same server - node-redis `GET` + `JSON.parse`, and the
 * least any one-round-trip tag check costs (`MGET` of entry and tag) - sequential and with 64 concurrent
 * callers; through the Upstash bridge, requests per hit and hits/s against `@upstash/redis` `get`.
 * Prints JSON. Usage: deno run -A bench/redis_hits.ts <redis-url> <upstash-url> <upstash-token> [runMs] [rounds]
 *
 * @module
 */

import { createClient } from "@redis/client";
import { Redis } from "@upstash/redis";
import { cacheRead, closeCache, initCache } from "../mod.ts";
import { upstashStore } from "../adapters/upstash.ts";
import { concurrently, measure, type Result, type Subject } from "./_harness.ts";

const [url, upstashUrl, upstashToken] = Deno.args;
/** How long each timed run lasts (see `measure`). */
const runMs = Number(Deno.args[3] ?? 1000);
const rounds = Number(Deno.args[4] ?? 7);
const KEYS = 1000;
const value = (id: number) => ({
  id,
  name: `user ${id}`,
  email: `user${id}@example.com`,
  roles: ["reader"],
});

const raw = createClient({ url });
await raw.connect();
for (let id = 0; id < KEYS; id++) {
  await raw.set(`raw:user:${id}`, JSON.stringify(value(id)));
  await raw.set(`raw:tag:${id}`, "0123456789abcdef");
}
await initCache({ url, prefix: "bench" });
const getUser = cacheRead(
  { key: "user:{id}", tags: ["user:{id}"], ttl: 3600 },
  ({ id }: { id: number }) => value(id),
);
for (let id = 0; id < KEYS; id++) await getUser({ id });

let i = 0;
const rawGet = async () => JSON.parse((await raw.get(`raw:user:${i++ % KEYS}`))!);
const rawMget = async () => {
  const id = i++ % KEYS;
  const [entry] = await raw.mGet([`raw:user:${id}`, `raw:tag:${id}`]);
  return JSON.parse(entry!);
};
const ourGet = () => getUser({ id: i++ % KEYS });
const seq = (name: string, op: () => Promise<unknown>): Subject => ({
  name,
  run: async (n) => {
    for (let k = 0; k < n; k++) await op();
  },
});
const c64 = (name: string, op: () => Promise<unknown>): Subject => ({
  name,
  run: (n) => concurrently(n, 64, op),
});
const subjects = (
  wrap: (name: string, op: () => Promise<unknown>) => Subject,
) => [
  wrap("raw GET+JSON.parse", rawGet),
  wrap("raw MGET(entry, tag)+JSON.parse", rawMget),
  wrap("@svc-infra/cache (1 tag)", ourGet),
];
const redisSequential = await measure(subjects(seq), runMs, rounds, 200);
const redisConcurrent = await measure(subjects(c64), runMs, rounds, 6400); // 100 hits per caller per batch

// Upstash: through the local bridge (same Redis); the bridge counts the HTTP requests it serves.
const requests = async () => (await (await fetch(`${upstashUrl}/__requests`)).json()).requests as number;
const upstashRaw = new Redis({
  url: upstashUrl,
  token: upstashToken,
  automaticDeserialization: false,
  enableTelemetry: false,
});
await initCache({
  store: upstashStore({ url: upstashUrl, token: upstashToken }),
  prefix: "benchup",
});
const getUp = cacheRead(
  { key: "user:{id}", tags: ["user:{id}"], ttl: 3600 },
  ({ id }: { id: number }) => value(id),
);
for (let id = 0; id < 100; id++) await getUp({ id });
const before = await requests();
for (let k = 0; k < 200; k++) await getUp({ id: k % 100 });
const requestsPerHit = ((await requests()) - before) / 200;
const rawUpstashGet = async () => JSON.parse(String(await upstashRaw.get(`raw:user:${i++ % KEYS}`)));
const ourUpstashGet = () => getUp({ id: i++ % 100 });
/** HTTP requests per hit with 64 concurrent callers: hits of one tick share a `/pipeline` request. */
const concurrentRequestsPerHit = async (op: () => Promise<unknown>) => {
  const start = await requests();
  await concurrently(6400, 64, op);
  return ((await requests()) - start) / 6400;
};
const concurrentRequests = {
  "raw @upstash/redis get+JSON.parse": await concurrentRequestsPerHit(
    rawUpstashGet,
  ),
  "@svc-infra/cache upstash (1 tag)": await concurrentRequestsPerHit(
    ourUpstashGet,
  ),
};
const upstash = await measure(
  [
    c64("raw @upstash/redis get+JSON.parse", rawUpstashGet),
    c64("@svc-infra/cache upstash (1 tag)", ourUpstashGet),
  ],
  runMs,
  rounds,
  6400, // long enough that the first and last requests of a batch do not decide it
);

const plain = (rs: Result[]) => rs.map(({ name, opsPerSec, spread }) => ({ name, opsPerSec, spread }));
console.log(JSON.stringify({
  runMs,
  rounds,
  redisSequential: plain(redisSequential),
  redisConcurrent: plain(redisConcurrent),
  upstash: { requestsPerHit, concurrentRequests, concurrent: plain(upstash) },
}));
await closeCache();
await raw.close();
