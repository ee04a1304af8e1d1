// quickstart.mjs: run with `node quickstart.mjs` after installing @svc-infra/cache
import { cacheRead, cacheWrite, closeCache, getMetrics, initCache } from "@svc-infra/cache";

await initCache({ prefix: "myapp", metrics: true }); // no url: the in-memory cache

const users = new Map([[1, { id: 1, name: "Ada" }]]); // stands in for your database
const query = () => new Promise((resolve) => setTimeout(resolve, 20)); // and for its latency

const getUser = cacheRead(
  { key: "user:{id}", tags: ["user:{id}"], ttl: 300 },
  async ({ id }) => {
    console.log(`loading user ${id}`);
    await query();
    return users.get(id);
  },
);
const renameUser = cacheWrite({ tags: ["user:{id}"] }, async ({ id, name }) => {
  await query();
  users.set(id, { id, name });
});

console.log(await getUser({ id: 1 })); // loading user 1, then { id: 1, name: 'Ada' }
console.log(await getUser({ id: 1 })); // a hit: the loader does not run
await renameUser({ id: 1, name: "Grace" }); // invalidates tag user:1
console.log(await getUser({ id: 1 })); // loading user 1, then { id: 1, name: 'Grace' }
console.log("hits:", getMetrics()["cache.hit"]); // hits: 1
await closeCache();
