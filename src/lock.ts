/**
 * A lock in the store, so that one process of a cluster loads a key at a time: `ifAbsent` writes (Redis and
 * Upstash `SET NX PX`, a versionstamp check on Deno KV, a map check in memory). The lock expires by itself,
 * so a holder that dies blocks others for at most its ttl.
 *
 * @module
 */

import { CacheContext } from "./context.ts";

/** A lock this process holds. */
export interface HeldLock {
  readonly key: string;
  readonly token: string;
}

/**
 * Tries to take the lock once. Resolves with the held lock, `undefined` when another process holds it, or
 * `"unavailable"` when the store cannot be asked (the caller then loads without a lock: a load is better
 * than a stall).
 */
export async function tryLock(
  cache: CacheContext,
  key: string,
  ttlMs: number,
): Promise<HeldLock | undefined | "unavailable"> {
  const token = CacheContext.token();
  try {
    const [taken] = await cache.run(
      "lock",
      (signal) => cache.store.setMany([{ key, value: token, ttlMs, ifAbsent: true }], { signal }),
    );
    return taken ? { key, token } : undefined;
  } catch {
    return "unavailable";
  }
}

/** Releases a lock if it is still ours (an expired lock may already belong to another process). */
export async function releaseLock(cache: CacheContext, lock: HeldLock): Promise<void> {
  try {
    const [current] = await cache.run("read lock", (signal) => cache.store.getMany([lock.key], { signal }));
    if (current === lock.token) {
      await cache.run("unlock", (signal) => cache.store.deleteMany([lock.key], { signal }));
    }
  } catch { /* reported by run(); the lock expires by itself */ }
}
