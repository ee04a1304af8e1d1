/**
 * Reading an entry by its key alone (`get`, `has`): the entry names the keys whose versions it was stored
 * under, so it is validated without knowing its tags. One read for the entry, one for its versions. With L1,
 * an entry held there is served by it (it knows the entry's keys), and what the store vouches for is kept.
 *
 * @module
 */

import type { CacheContext } from "./context.ts";
import { decodeEntry, type Entry, isLoadingMarker, sharedEntry } from "./entry.ts";
import { NOTHING, readValue } from "./entry_value.ts";
import { sameVersions } from "./versions.ts";

/** The fresh, valid value at a logical key, or `undefined` (also when the store cannot be reached). */
export async function readStored(
  cache: CacheContext,
  key: string,
): Promise<{ value: unknown; fromL1: boolean } | undefined> {
  try {
    const entryKey = await cache.entryKey(key);
    const { l1 } = cache;
    const since = l1 ? cache.settings.clock.now() : 0;
    const held = l1?.keysOf(entryKey, since);
    const near = held && await l1!.entry(held, since);
    if (near) {
      const value = readValue(near, cache.codec);
      if (value !== NOTHING) return { value, fromL1: true };
    }
    const { store } = cache;
    const mark = cache.invalidationMark;
    let raw: string | null = null, entry: Entry | undefined;
    if (store.peekDerived) {
      // An in-process store keeps the decoded entry (the one hits use): no parse, and no text made again.
      entry = store.peekDerived(entryKey, undefined, sharedEntry) ?? undefined;
    } else {
      [raw] = await cache.run("read", (signal) => store.getMany([entryKey], { signal }));
      entry = raw === null || isLoadingMarker(raw) ? undefined : decodeEntry(raw);
    }
    if (!entry || cache.settings.clock.now() >= entry.freshUntil) return undefined;
    const dependencies = entry.dependencies.map((d) => cache.namespace + d);
    // Before the versions are read: a queued delete of one that lands during that read is in what it returns.
    if (cache.hasPendingInvalidation([entryKey, ...dependencies], mark)) return undefined;
    if (dependencies.length > 0) {
      const versions = await cache.run("read", (signal) => store.getMany(dependencies, { signal }));
      if (!sameVersions(entry.versions, versions)) return undefined;
    }
    const value = readValue(entry, cache.codec);
    if (value === NOTHING) return undefined;
    if (raw !== null) l1?.keep([entryKey, ...dependencies], raw, since);
    return { value, fromL1: false };
  } catch {
    return undefined; // reported by run(): an unreachable store reads as a miss
  }
}
