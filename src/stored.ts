/**
 * Reading an entry by its key alone (`get`, `has`): the entry names the keys whose versions it was stored
 * under, so it is validated without knowing its tags. One read for the entry, one for its versions.
 *
 * @module
 */

import type { CacheContext } from "./context.ts";
import { decodeEntry, isLoadingMarker } from "./entry.ts";
import { NOTHING, readValue } from "./entry_value.ts";
import { versionsMatch } from "./versions.ts";

/** The fresh, valid value at a logical key, or `undefined` (also when the store cannot be reached). */
export async function readStored(cache: CacheContext, key: string): Promise<{ value: unknown } | undefined> {
  try {
    const entryKey = await cache.entryKey(key);
    const [raw] = await cache.run("read", (signal) => cache.store.getMany([entryKey], { signal }));
    if (raw === null || isLoadingMarker(raw)) return undefined;
    const entry = decodeEntry(raw);
    if (!entry || cache.settings.clock.now() >= entry.freshUntil) return undefined;
    const dependencies = entry.dependencies.map((d) => cache.namespace + d);
    if (cache.hasPendingInvalidation([entryKey, ...dependencies])) return undefined;
    if (dependencies.length > 0) {
      const versions = await cache.run("read", (signal) => cache.store.getMany(dependencies, { signal }));
      if (!versionsMatch(entry.versions, [raw, ...versions])) return undefined;
    }
    const value = readValue(entry, cache.codec);
    return value === NOTHING ? undefined : { value };
  } catch {
    return undefined; // reported by run(): an unreachable store reads as a miss
  }
}
