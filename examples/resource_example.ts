/**
 * The seed README's "Resource Pattern Example", in TypeScript. Runs on the in-memory default, or on any
 * backend named by CACHE_URL. Run: `npm run demo` (or `deno run -A examples/resource_example.ts`).
 *
 * @module
 */

import { closeCache, getMetrics, initCache, resource, TTL_LONG } from "../mod.ts";

// 1. Initialize cache
await initCache({
  url: Deno.env.get("CACHE_URL") || undefined,
  token: Deno.env.get("CACHE_TOKEN") || undefined,
  prefix: Deno.env.get("CACHE_PREFIX") ?? "svc",
  version: Deno.env.get("CACHE_VERSION") ?? "v1",
});

// 2. Mock database
interface User {
  userId: number;
  name: string;
}
const USERS = new Map<number, User>();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function ensureUser(uid: number) {
  if (!USERS.has(uid)) USERS.set(uid, { userId: uid, name: "John Doe" });
}

async function fetchUser(uid: number): Promise<User> {
  const found = USERS.get(uid);
  if (!found) throw new Error(`User ${uid} not found`);
  await sleep(20); // Simulate DB latency
  return { ...found };
}

async function saveUser(uid: number, data: Partial<User>): Promise<User> {
  ensureUser(uid);
  await sleep(20);
  Object.assign(USERS.get(uid)!, data);
  return { ...USERS.get(uid)! };
}

async function deleteUser(uid: number): Promise<boolean> {
  await sleep(20);
  return USERS.delete(uid);
}

// 3. Resource sugar - automatically handles keys and tags
const user = resource("user", "userId");

export const getUserProfile = user.cacheRead(
  { suffix: "profile", ttl: TTL_LONG, smoothExpiry: true },
  async function getUserProfile({ userId }: { userId: number }) {
    console.log(`🔥 Cache MISS - fetching user ${userId} from DB`);
    return await fetchUser(userId);
  },
);

export const updateUserProfile = user.cacheWrite(
  async function updateUserProfile({ userId, data }: { userId: number; data: Partial<User> }) {
    console.log(`💾 Updating user ${userId} and invalidating cache`);
    return await saveUser(userId, data);
  },
);

export const deleteUserProfile = user.cacheWrite(
  async function deleteUserProfile({ userId }: { userId: number }) {
    console.log(`🗑️ Deleting user ${userId} and invalidating cache`);
    return await deleteUser(userId);
  },
);

// 4. Demo
export async function main(): Promise<void> {
  const uid = 123;
  ensureUser(uid); // Create initial user

  // First call - cache miss, hits DB
  const p1 = await getUserProfile({ userId: uid });
  console.log("✅ Fetched profile:", p1);

  // Second call - cache hit, no DB call
  const p1Cached = await getUserProfile({ userId: uid });
  console.log("⚡ Cached profile:", p1Cached);

  // Update - invalidates cache
  const p2 = await updateUserProfile({ userId: uid, data: { name: "New Name" } });
  console.log("✅ Updated profile:", p2);

  // Third call - cache was invalidated, hits DB again
  const p3 = await getUserProfile({ userId: uid });
  console.log("✅ Fresh profile:", p3);

  // Delete - invalidates cache
  const deleted = await deleteUserProfile({ userId: uid });
  console.log("✅ Deleted user:", deleted);

  // Try to fetch deleted user
  try {
    await getUserProfile({ userId: uid });
    console.log("❌ This shouldn't happen!");
  } catch (error) {
    console.log(`✅ User successfully deleted - ${(error as Error).message}`);
  }

  // Check metrics
  const metrics = getMetrics();
  console.log(`📊 Cache hits: ${metrics["cache.hit"]}`);
  console.log(`📊 Cache misses: ${metrics["cache.miss"]}`);
}

if (import.meta.main) {
  await main();
  await closeCache();
}
