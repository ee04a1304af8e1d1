/**
 * Unreadable entries (one that did not decode, or whose value cannot be revived), handled in one place, the
 * claim of the load that replaces them, for every load alike (a read's after a miss, `set`, `refresh`, a
 * forced read): reported (counted as an error, logged at most once per interval, never an outage) and, when no
 * write could be conditional on them (garbage, a tampered sealed entry), deleted in one request first, so that
 * the load can store. One that decodes is replaced by the load's own conditional write.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import type { Budget } from "../engine/deadline.ts";
import { writeGuard } from "../entry/entry.ts";

/** What a claim found at one entry key; `unusable`: the read before the load could not use it. */
export interface AtEntryKey {
  readonly key: string;
  readonly unusable?: boolean;
}

/**
 * Reports the unreadable entries among `found` (their values in `seen`) and deletes those no write could be
 * conditional on, recording in `seen` the keys whose delete landed as empty. `undefined` when there is none,
 * so that a claim's common path takes no extra tick.
 */
export function settleUnreadable(
  cache: CacheContext,
  what: string,
  found: readonly AtEntryKey[],
  seen: Map<string, string | null | undefined>,
  budget: Budget,
): Promise<void> | undefined {
  const garbage: string[] = [];
  for (const { key, unusable } of found) {
    const raw = seen.get(key);
    if (raw == null) continue;
    const guarded = writeGuard(raw) !== undefined;
    if (guarded && !unusable) continue;
    cache.diagnostics.reportError(
      `unreadable entry for ${what} at key ${cache.keys.logicalKey(key)}: treated as a miss and ${
        guarded ? "replaced" : "deleted"
      }`,
    );
    if (!guarded) garbage.push(key);
  }
  if (garbage.length === 0) return undefined;
  return cache.guarded.run("delete", (signal) => cache.store.deleteMany(garbage, { signal }), budget).then(
    () => garbage.forEach((key) => seen.set(key, null)),
    () => {}, // reported by run(): the loads claim nothing and do not store
  );
}
