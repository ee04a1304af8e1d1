/**
 * What a load does before it reads its data: it fixes the state its entry will be valid under. Missing tag
 * versions are created (`ifAbsent`, with fresh tokens, so concurrent creators agree), and an empty entry key
 * gets a loading marker (`ifAbsent`), all in one store call. The load's entry write then requires the key to
 * still start with the claimed guard, and its versions to still be current when read: an invalidation (a
 * delete of the entry or of a tag version) made after the claim makes the write fail or the entry a miss.
 *
 * @module
 */

import type { CacheContext } from "./context.ts";
import type { Budget } from "./deadline.ts";
import { loadingMarker, writeGuard } from "./entry.ts";
import type { Claim } from "./flight.ts";
import type { StoreWrite } from "./store.ts";
import { randomToken } from "./token.ts";

/** A loading marker lives at least this long, so that a load slower than its ttl can still store. */
const MIN_MARKER_MS = 60_000;

/**
 * Claims `keys` (the entry key, then tag-version keys) for a load. `observed` is what the caller already read
 * (`null` = missing); without it the keys are read first. Never throws: what it cannot establish is
 * `undefined` in the claim, and such a load is returned but not stored.
 */
export async function claim(
  cache: CacheContext,
  keys: readonly string[],
  observed: readonly (string | null)[] | undefined,
  ttlSeconds: number,
  budget: Budget,
): Promise<Claim> {
  try {
    const raws = observed
      ? [...observed]
      : await cache.run("read", (signal) => cache.store.getMany(keys, { signal }), budget);
    const writes: StoreWrite[] = [];
    const slots: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      if (raws[i] !== null) continue;
      const value = i === 0 ? loadingMarker(randomToken()) : randomToken();
      const ttlMs = i === 0 ? Math.max(MIN_MARKER_MS, ttlSeconds * 1000) : cache.settings.tagTtlMs;
      writes.push({ key: keys[i], value, ttlMs, ifAbsent: true });
      slots.push(i);
    }
    if (writes.length > 0) {
      const stored = await cache.run("claim", (signal) => cache.store.setMany(writes, { signal }), budget);
      const lost = slots.filter((_, j) => !stored[j]);
      slots.forEach((i, j) => raws[i] = stored[j] ? writes[j].value : null);
      if (lost.length > 0) {
        // Another writer got there first: its value is the state to load under.
        const current = await cache.run(
          "read",
          (signal) => cache.store.getMany(lost.map((i) => keys[i]), { signal }),
          budget,
        );
        lost.forEach((i, j) => raws[i] = current[j]);
      }
    }
    const guard = raws[0] === null ? undefined : writeGuard(raws[0]);
    const versions = raws.slice(1);
    return {
      guard,
      // A version that vanished again between the calls cannot vouch for an entry.
      versions: versions.every((v) => v !== null) ? versions as string[] : undefined,
    };
  } catch {
    return { guard: undefined, versions: undefined }; // reported by run()
  }
}
