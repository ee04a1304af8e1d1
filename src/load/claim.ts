/**
 * What a load does before it reads its data: it fixes the state its entry will be valid under. Missing tag
 * versions are created (`ifAbsent`, with fresh tokens, so concurrent creators agree), and an empty entry key
 * gets a loading marker (`ifAbsent`; `set`'s replaces whatever is there, see {@linkcode ClaimRequest.supersede}:
 * until its write lands, readers elsewhere miss and load themselves), all in one store call; an unreadable
 * value there (garbage, a tampered sealed entry) is reported and deleted first, for every load alike (a read's
 * after a miss, `set`, `refresh`, a forced read), so that the load can store. The load's entry write then requires the key to
 * still start with the claimed guard, and its versions to still be current when read: an invalidation (a
 * delete of the entry or of a tag version) made after the claim makes the write fail or the entry a miss.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import type { Budget } from "../engine/deadline.ts";
import { loadingMarker, writeGuard } from "../entry/entry.ts";
import type { Claim } from "./flight.ts";
import type { StoreWrite } from "../store/store.ts";
import { tokenFor } from "../entry/token.ts";
import { settleUnreadable } from "./unreadable.ts";

/** A loading marker lives at least this long, so that a load slower than its ttl can still store. */
const MIN_MARKER_MS = 60_000;
/**
 * Most claims a superseding load makes before it loads under what another writer put there: each round one
 * of the overlapping `set`s wins, so where the store answers in order (memory, Redis) this many overlapping
 * ones end with the last one called (the call's deadline bounds them anyway).
 */
const SUPERSEDE_ROUNDS = 64;

/**
 * Claims `keys` (the entry key, then its dependency keys) for a load. `observed` is what the caller already read
 * (`null` = missing); without it the keys are read first. Never throws: what it cannot establish is
 * `undefined` in the claim, and such a load is returned but not stored.
 */
export async function claim(
  cache: CacheContext,
  keys: readonly string[],
  observed: readonly (string | null)[] | undefined,
  ttlSeconds: number,
  budget: Budget,
  what: string,
  how: Pick<ClaimRequest, "unusable" | "supersede"> = {},
): Promise<Claim> {
  return (await claimMany(cache, [{ keys, observed, ...how }], ttlSeconds, budget, what))[0];
}

/** The keys of one load to claim, and what was read at them (if anything). */
export interface ClaimRequest {
  readonly keys: readonly string[];
  readonly observed?: readonly (string | null)[];
  /** The read before the load could not use the entry it found (it is reported here, and replaced). */
  readonly unusable?: boolean;
  /**
   * The load's value is newer than any load in flight (`set`): the claim replaces what it finds (an entry, or
   * another load's marker) with its own marker, so that a load claimed before cannot store over it.
   */
  readonly supersede?: boolean;
}

/**
 * Claims several loads in one store call (keys they share, such as a tag, are created once). `what` names the
 * function in the report of an unreadable entry.
 */
export async function claimMany(
  cache: CacheContext,
  requests: readonly ClaimRequest[],
  ttlSeconds: number,
  budget: Budget,
  what: string,
): Promise<Claim[]> {
  const seen = new Map<string, string | null | undefined>();
  const entryKeys = new Set<string>();
  const superseding = new Set<string>();
  /** What a superseding claim replaced, by entry key: what the load found there. */
  const replaced = new Map<string, string>();
  for (const { keys, observed, supersede } of requests) {
    entryKeys.add(keys[0]);
    if (supersede) superseding.add(keys[0]);
    keys.forEach((key, i) => {
      if (seen.get(key) === undefined) seen.set(key, observed ? observed[i] : undefined);
    });
  }
  try {
    const unique = [...seen.keys()];
    const unread = unique.filter((key) => seen.get(key) === undefined);
    if (unread.length > 0) {
      const raws = await cache.guarded.run(
        "read",
        (signal) => cache.store.getMany(unread, { signal }),
        budget,
      );
      unread.forEach((key, i) => seen.set(key, raws[i]));
    }
    const atEntryKeys = requests.map(({ keys, unusable }) => ({ key: keys[0], unusable }));
    // Awaited only when there is one: a claim's common path keeps its number of ticks.
    const settling = settleUnreadable(cache, what, atEntryKeys, seen, budget);
    if (settling) await settling;
    // In rounds: a superseding claim that lost to another writer claims again over what that one wrote (the later
    // claim wins); any other claim loads under what it found.
    let pending = unique;
    for (let round = 0; round < SUPERSEDE_ROUNDS && pending.length > 0; round++) {
      const writes: StoreWrite[] = [];
      for (const key of pending) {
        const found = seen.get(key), entry = entryKeys.has(key);
        const guard = found && superseding.has(key) ? writeGuard(found) : undefined;
        if (found !== null && guard === undefined) continue;
        writes.push({
          key,
          value: entry ? loadingMarker(tokenFor(cache.store)) : tokenFor(cache.store),
          ttlMs: entry ? Math.max(MIN_MARKER_MS, ttlSeconds * 1000) : cache.settings.tagTtlMs,
          ifAbsent: guard === undefined,
          ifStartsWith: guard,
          // A marker is cleared with its namespace, so the load it guards cannot store across a clear().
          scope: entry ? cache.keys.namespace : undefined,
        });
      }
      if (writes.length === 0) break;
      const stored = await cache.guarded.run(
        "claim",
        (signal) => cache.store.setMany(writes, { signal }),
        budget,
      );
      const lost = writes.filter((_, j) => !stored[j]).map((w) => w.key);
      writes.forEach((w, j) => {
        if (stored[j] && w.ifStartsWith !== undefined) replaced.set(w.key, seen.get(w.key)!);
        seen.set(w.key, stored[j] ? w.value : null);
      });
      if (lost.length === 0) break;
      // Another writer got there first: its value is the state to load under.
      const current = await cache.guarded.run(
        "read",
        (signal) => cache.store.getMany(lost, { signal }),
        budget,
      );
      lost.forEach((key, j) => seen.set(key, current[j]));
      const lostEntries = lost.filter((key) => entryKeys.has(key)).map((key) => ({ key }));
      await settleUnreadable(cache, what, lostEntries, seen, budget);
      pending = lost.filter((key) => superseding.has(key) && seen.get(key) != null);
    }
    return requests.map(({ keys, observed }) => {
      const entry = seen.get(keys[0]) ?? null;
      const found = replaced.get(keys[0]) ?? entry;
      const versions = keys.slice(1).map((key) => seen.get(key) ?? null);
      return {
        guard: entry === null ? undefined : writeGuard(entry),
        // A version that vanished again between the calls cannot vouch for an entry.
        versions: versions.every((v) => v !== null) ? versions as string[] : undefined,
        found: observed || found === null ? undefined : found,
      };
    });
  } catch {
    return requests.map(() => ({ guard: undefined, versions: undefined })); // reported by run()
  }
}
