// quickstart_redis.mjs: `npm install @svc-infra/cache @redis/client cluster-key-slot`, then `node quickstart_redis.mjs`
import { cacheRead, closeCache, initCache } from "@svc-infra/cache";

// A Redis Cluster is a list of nodes: "redis://10.0.0.1:7000,10.0.0.2:7000"
await initCache({ url: process.env.REDIS_URL ?? "redis://localhost:6379", prefix: "myapp" });

const getGreeting = cacheRead({ key: "greeting:{name}", ttl: 60 }, async ({ name }) => {
  console.log(`loading greeting for ${name}`);
  await new Promise((resolve) => setTimeout(resolve, 20)); // a slow call
  return `Hello, ${name}!`;
});

console.log(await getGreeting({ name: "Ada" })); // loads (or a hit left by an earlier run)
console.log(await getGreeting({ name: "Ada" })); // a hit, from Redis
await getGreeting.invalidate({ name: "Ada" }); // every process sharing this Redis misses now
await closeCache();
