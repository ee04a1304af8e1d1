// The seed's resource example from CommonJS on Node: `node resource_example.cjs` (see resource_example.mjs).
const { closeCache, getMetrics, initCache, resource, TTL_LONG } = require("@svc-infra/cache");

async function main() {
  await initCache({ url: process.env.CACHE_URL || undefined, prefix: process.env.CACHE_PREFIX ?? "svc" });
  const USERS = new Map([[123, { userId: 123, name: "John Doe" }]]);
  const user = resource("user", "userId");
  const getUserProfile = user.cacheRead({ suffix: "profile", ttl: TTL_LONG }, ({ userId }) => {
    console.log(`🔥 Cache MISS - fetching user ${userId} from DB`);
    if (!USERS.has(userId)) throw new Error(`User ${userId} not found`);
    return { ...USERS.get(userId) };
  });
  const updateUserProfile = user.cacheWrite(({ userId, data }) => Object.assign(USERS.get(userId), data));
  console.log("✅ Fetched profile:", JSON.stringify(await getUserProfile({ userId: 123 })));
  console.log("⚡ Cached profile:", JSON.stringify(await getUserProfile({ userId: 123 })));
  await updateUserProfile({ userId: 123, data: { name: "New Name" } });
  console.log("✅ Fresh profile:", JSON.stringify(await getUserProfile({ userId: 123 })));
  console.log(`📊 Cache hits: ${getMetrics()["cache.hit"]}`);
  await closeCache();
}

main();
