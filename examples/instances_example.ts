/**
 * Cache instances and the imperative API: two caches in one process (sessions and config), `getOrSet`,
 * `get`/`set`/`delete`, a batch load, soft and hard tag invalidation. In memory, or on the backend CACHE_URL
 * names (both instances then share it, each in its own namespace): `npx deno run -A examples/instances_example.ts`.
 *
 * @module
 */

import { createCache } from "../mod.ts";

const url = Deno.env.get("CACHE_URL") || undefined, token = Deno.env.get("CACHE_TOKEN") || undefined;
const run = Deno.env.get("CACHE_PREFIX") ?? "example";
const sessions = await createCache({ url, token, prefix: `${run}-sessions` });
const config = await createCache({ prefix: `${run}-config` }); // always in memory

// Ad-hoc caching of one value; the type is the loader's.
let dbCalls = 0;
const fetchUser = (id: number) => (dbCalls++, { id, name: `User ${id}` });
const user = await sessions.getOrSet("user:1", () => fetchUser(1), {
  ttl: 60,
  staleTtl: 300,
  tags: ["user:1"],
});
console.log(`👤 ${user.name} (db calls: ${dbCalls})`);
await sessions.getOrSet("user:1", () => fetchUser(1), { ttl: 60, staleTtl: 300, tags: ["user:1"] });
console.log(`⚡ cached (db calls: ${dbCalls})`);

// Two instances never share entries.
await config.set("flags", { beta: true }, { ttl: 600 });
console.log(
  `🏳️ flags in config: ${JSON.stringify(await config.get("flags"))}, in sessions: ${await sessions.get(
    "flags",
  )}`,
);

// A batch: one read, one loader call with only the missing keys.
const users = await sessions.getOrSetMany(["user:1", "user:2", "user:3"], (missing) => {
  console.log(`📦 loading ${missing.join(", ")}`);
  return missing.map((key) => fetchUser(Number(key.split(":")[1])));
}, { ttl: 60, staleTtl: 300, tags: (key) => [key] });
console.log(`👥 ${users.map((u) => u.name).join(", ")}`);

// Soft invalidation: the old value is served once while one refresh runs; hard: a miss.
await sessions.invalidateTags(["user:1"], { soft: true });
const stale = await sessions.getOrSet("user:1", () => ({ ...fetchUser(1), name: "Renamed" }), {
  ttl: 60,
  staleTtl: 300,
  tags: ["user:1"],
});
console.log(`🕰️ after a soft invalidation: ${stale.name} (refreshing in the background)`);
await sessions.delete("user:2");
console.log(`🗑️ user:2 after delete: ${await sessions.get("user:2")}`);
console.log(
  `📊 sessions hits: ${sessions.metrics()["cache.hit"]}, config hits: ${config.metrics()["cache.hit"]}`,
);
await Promise.all([sessions.close(), config.close()]);
