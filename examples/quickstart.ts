/**
 * The README's quick start in TypeScript, on Deno from this clone: `npx deno run -A examples/quickstart.ts`,
 * in-memory, or on Redis with `REDIS_URL` set. In a project with the package installed, import from
 * "@svc-infra/cache" instead of "../mod.ts".
 */
import { cacheRead, cacheWrite, closeCache, getMetrics, initCache } from "../mod.ts";

interface User {
  id: number;
  name: string;
}

// No url: the in-memory cache. REDIS_URL=redis://localhost:6379: Redis.
await initCache({ url: Deno.env.get("REDIS_URL"), prefix: "myapp", metrics: true });

const users = new Map<number, User>([[1, { id: 1, name: "Ada" }]]); // stands in for your database
const query = () => new Promise((resolve) => setTimeout(resolve, 20)); // and for its latency

const getUser = cacheRead(
  { key: "user:{id}", tags: ["user:{id}"], ttl: 300 }, // "user:{idd}" would not compile
  async ({ id }: { id: number }) => {
    console.log(`loading user ${id}`);
    await query();
    return users.get(id);
  },
);
const renameUser = cacheWrite({ tags: ["user:{id}"] }, async ({ id, name }: User) => {
  await query();
  users.set(id, { id, name });
});

console.log(await getUser({ id: 1 })); // loading user 1, then { id: 1, name: "Ada" }
console.log(await getUser({ id: 1 })); // a hit: the loader does not run
await renameUser({ id: 1, name: "Grace" }); // invalidates tag user:1
console.log(await getUser({ id: 1 })); // loading user 1, then { id: 1, name: "Grace" }
console.log("hits:", getMetrics()["cache.hit"]); // hits: 1
await getUser.invalidate({ id: 1 }); // so that the next run starts as this one did, also on Redis
await closeCache();
