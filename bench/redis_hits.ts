/**
 * Redis-tier hits: `@svc-infra/cache` (one tag per entry, so each hit also checks a tag version) against the
 * raw node-redis client's `GET` + `JSON.parse` on the same server, sequential and with 64 concurrent callers.
 * Usage: deno run -A bench/redis_hits.ts redis://127.0.0.1:6379 [ops] [rounds]
 *
 * @module
 */

import { createClient } from "@redis/client";
import { cacheRead, closeCache, initCache } from "../mod.ts";
import { concurrently, measure, type Subject, table } from "./_harness.ts";

const url = Deno.args[0] ?? "redis://127.0.0.1:6379";
const ops = Number(Deno.args[1] ?? 20_000);
const rounds = Number(Deno.args[2] ?? 5);
const KEYS = 1000;

const raw = createClient({ url });
await raw.connect();
const value = (id: number) => ({ id, name: `user ${id}`, email: `user${id}@example.com`, roles: ["reader"] });
for (let id = 0; id < KEYS; id++) {
  await raw.set(`raw:user:${id}`, JSON.stringify(value(id)));
  await raw.set(`raw:tag:${id}`, "0123456789abcdef");
}

await initCache({ url, prefix: "bench" });
const getUser = cacheRead(
  { key: "user:{id}", tags: ["user:{id}"], ttl: 3600 },
  ({ id }: { id: number }) => value(id),
);
const getUntagged = cacheRead({ key: "plain:{id}", ttl: 3600 }, ({ id }: { id: number }) => value(id));
for (let id = 0; id < KEYS; id++) await Promise.all([getUser({ id }), getUntagged({ id })]);

let i = 0;
const rawGet = async () => JSON.parse((await raw.get(`raw:user:${i++ % KEYS}`))!);
const ourGet = () => getUser({ id: i++ % KEYS });
const ourUntagged = () => getUntagged({ id: i++ % KEYS });
// The least any one-round-trip tag check costs: the entry and its tag version in one MGET.
const rawMget = async () => {
  const id = i++ % KEYS;
  const [entry] = await raw.mGet([`raw:user:${id}`, `raw:tag:${id}`]);
  return JSON.parse(entry!);
};

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

const subjects = (wrap: (name: string, op: () => Promise<unknown>) => Subject) => [
  wrap("raw GET+JSON.parse", rawGet),
  wrap("raw MGET(entry, tag)+JSON.parse", rawMget),
  wrap("@svc-infra/cache (1 tag)", ourGet),
  wrap("@svc-infra/cache (no tag)", ourUntagged),
];
const sequential = await measure(subjects(seq), ops, rounds);
const parallel = await measure(subjects(c64), ops * 2, rounds);
console.log(table("Redis hits, sequential", sequential, "raw GET+JSON.parse"));
console.log(table("Redis hits, 64 concurrent callers", parallel, "raw GET+JSON.parse"));
await closeCache();
await raw.close();
