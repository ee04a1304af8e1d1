/**
 * The seed README's "Manual Decorators Example", in TypeScript. Runs on the in-memory default, or on any
 * backend named by CACHE_URL: `deno run -A examples/manual_example.ts`.
 *
 * @module
 */

import { cacheRead, cacheWrite, closeCache, initCache, TTL_LONG } from "../mod.ts";

// 1. Cache init
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

async function fetchUserFromDatabase(userId: number): Promise<User> {
  const found = USERS.get(userId);
  if (!found) throw new Error(`User ${userId} not found`);
  await sleep(20);
  console.log(`🔥 DB FETCH - user ${userId}`);
  return { ...found };
}

async function saveUserToDatabase(userId: number, data: Partial<User>): Promise<User> {
  ensureUser(userId);
  await sleep(20);
  Object.assign(USERS.get(userId)!, data);
  console.log(`💾 DB SAVE - user ${userId}`);
  return { ...USERS.get(userId)! };
}

// 3. Cached read with tags: a function of the argument, or a template such as "user:{userId}"
const getUserProfile = cacheRead({
  key: "user:{userId}:profile",
  ttl: TTL_LONG,
  tags: ({ userId }) => [`user:${userId}`],
  smoothExpiry: true,
}, async function getUserProfile({ userId }: { userId: number }) {
  return await fetchUserFromDatabase(userId);
});

// 4. Cache write with invalidation
const updateUserProfile = cacheWrite({
  tags: ({ userId }) => [`user:${userId}`],
}, async function updateUserProfile({ userId, data }: { userId: number; data: Partial<User> }) {
  return await saveUserToDatabase(userId, data);
});

// 5. Demo
async function main() {
  const uid = 123;
  ensureUser(uid);

  const p1 = await getUserProfile({ userId: uid }); // cold -> DB
  console.log("✅ Fetched profile:", p1);

  const p1Again = await getUserProfile({ userId: uid }); // warm -> cache
  console.log("⚡ Cached profile:", p1Again);

  const p2 = await updateUserProfile({ userId: uid, data: { name: "New Name" } });
  console.log("✅ Updated profile:", p2);

  const p3 = await getUserProfile({ userId: uid }); // invalidated -> cold -> DB
  console.log("✅ Fresh profile:", p3);

  if (p3.name !== "New Name") throw new Error("Cache invalidation failed");
  console.log("🎉 Cache invalidation worked!");
}

await main();
await closeCache();
