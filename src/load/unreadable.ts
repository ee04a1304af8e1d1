/**
 * Stored values a read cannot use (an entry that did not decode, or whose value cannot be revived), treated
 * the same by every read path: counted as errors (never as an outage), reported at most once per interval,
 * deleted in one request, then loaded afresh. Deleted first, so that the load can claim the key: left in
 * place, every call would load and none could store.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import type { Budget } from "../engine/deadline.ts";

/** One unreadable entry: its logical key, the keys its read used and what that read returned (entry first). */
export interface Unreadable {
  readonly logical: string;
  readonly keys: readonly string[];
  /** Set to record the entry as gone once the delete landed (the load then claims the key). */
  readonly raws?: (string | null)[];
}

/** Reports and deletes the unreadable entries of `what`'s read (one request), within `budget` when given. */
export async function deleteUnreadable(
  cache: CacheContext,
  what: string,
  items: readonly Unreadable[],
  budget?: Budget,
): Promise<void> {
  for (const item of items) {
    cache.diagnostics.reportError(
      `unreadable entry for ${what} at key ${item.logical}: treated as a miss and deleted`,
    );
  }
  try {
    const keys = items.map((item) => item.keys[0]);
    await cache.guarded.run("delete", (signal) => cache.store.deleteMany(keys, { signal }), budget);
    for (const item of items) if (item.raws) item.raws[0] = null;
  } catch { /* reported by run(); their loads claim nothing and do not store */ }
}
