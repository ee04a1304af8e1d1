/**
 * A lock in the store, so that one process of a cluster loads a key at a time: `ifAbsent` writes (Redis and
 * Upstash `SET NX PX`, a versionstamp check on Deno KV, a map check in memory). The lock expires by itself,
 * so a holder that dies blocks others for at most its ttl. Release is an atomic compare-and-delete on the
 * owner's token, so it can never remove a lock that expired and passed to another holder. An acquisition
 * that timed out may still have landed: that lock is released as soon as the store answers again.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import type { Budget } from "../engine/deadline.ts";
import { tokenFor } from "../entry/token.ts";
import { unref } from "../base/timers.ts";

/** A lock this process holds. */
export interface HeldLock {
  readonly key: string;
  readonly token: string;
}

/** Pause between two attempts to release a lock whose acquisition got no answer. */
const RELEASE_RETRY_MS = 50;

/**
 * Tries to take the lock once. Resolves with the held lock, `undefined` when another process holds it, or
 * `"unavailable"` when the store cannot be asked (the caller then loads without a lock: a load is better
 * than a stall).
 */
export async function tryLock(
  cache: CacheContext,
  key: string,
  ttlMs: number,
  budget: Budget,
): Promise<HeldLock | undefined | "unavailable"> {
  const lock = { key, token: tokenFor(cache.store) };
  try {
    const [taken] = await cache.guarded.run(
      "lock",
      (signal) => cache.store.setMany([{ key, value: lock.token, ttlMs, ifAbsent: true }], { signal }),
      budget,
    );
    return taken ? lock : undefined;
  } catch {
    // The request may have reached the store after we gave up: nobody would hold that lock.
    cache.work.add(releaseWhenAnswered(cache, lock, ttlMs));
    return "unavailable";
  }
}

/** Releases a lock if it is still ours (an expired lock may already belong to another process). */
export async function releaseLock(cache: CacheContext, lock: HeldLock): Promise<void> {
  try {
    await cache.guarded.run(
      "unlock",
      (signal) => cache.store.deleteIfStartsWith(lock.key, lock.token, { signal }),
    );
  } catch {
    await releaseWhenAnswered(cache, lock, cache.settings.deadlineMs * 10);
  }
}

/** Retries the release until the store answers, for at most `forMs` (the lock expires by itself then). */
async function releaseWhenAnswered(cache: CacheContext, lock: HeldLock, forMs: number): Promise<void> {
  const until = performance.now() + forMs; // real time: a test clock may stand still
  while (performance.now() < until) {
    try {
      await cache.guarded.run(
        "unlock",
        (signal) => cache.store.deleteIfStartsWith(lock.key, lock.token, { signal, background: true }),
        undefined,
        "background",
      );
      return;
    } catch {
      await new Promise((resolve) => unref(setTimeout(resolve, RELEASE_RETRY_MS)));
    }
  }
}
