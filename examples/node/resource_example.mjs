// The seed's resource example from plain JavaScript on Node (ESM), against the npm package:
//   npm run build && cd examples/node && npm install && node resource_example.mjs
// CACHE_URL picks the backend (in-memory when unset), e.g. CACHE_URL=redis://127.0.0.1:6379.
import { closeCache, getMetrics, initCache, resource, TTL_LONG } from "@svc-infra/cache";

await initCache({ url: process.env.CACHE_URL || undefined, prefix: process.env.CACHE_PREFIX ?? "svc" });

const USERS = new Map();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const ensureUser = (uid) => USERS.has(uid) || USERS.set(uid, { userId: uid, name: "John Doe" });

const user = resource("user", "userId");
const getUserProfile = user.cacheRead(
  { suffix: "profile", ttl: TTL_LONG, smoothExpiry: true },
  async ({ userId }) => {
    console.log(`🔥 Cache MISS - fetching user ${userId} from DB`);
    if (!USERS.has(userId)) throw new Error(`User ${userId} not found`);
    await sleep(20);
    return { ...USERS.get(userId) };
  },
);
const updateUserProfile = user.cacheWrite(({ userId, data }) => {
  ensureUser(userId);
  Object.assign(USERS.get(userId), data);
  return { ...USERS.get(userId) };
});
const deleteUserProfile = user.cacheWrite(({ userId }) => USERS.delete(userId));

ensureUser(123);
console.log("✅ Fetched profile:", JSON.stringify(await getUserProfile({ userId: 123 })));
console.log("⚡ Cached profile:", JSON.stringify(await getUserProfile({ userId: 123 })));
console.log(
  "✅ Updated profile:",
  JSON.stringify(await updateUserProfile({ userId: 123, data: { name: "New Name" } })),
);
console.log("✅ Fresh profile:", JSON.stringify(await getUserProfile({ userId: 123 })));
console.log("✅ Deleted user:", await deleteUserProfile({ userId: 123 }));
try {
  await getUserProfile({ userId: 123 });
  console.log("❌ This shouldn't happen!");
} catch (error) {
  console.log(`✅ User successfully deleted - ${error.message}`);
}
const metrics = getMetrics();
console.log(`📊 Cache hits: ${metrics["cache.hit"]}`);
console.log(`📊 Cache misses: ${metrics["cache.miss"]}`);
await closeCache();
