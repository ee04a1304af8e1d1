/**
 * The synchronous hit of an in-process store: the entry and the versions it depends on are read from the
 * store's memory in one go (no promise), and judged by the same rule as every read ({@linkcode isFresh}). The
 * decoded entry lives with the stored value (parsed once per write), and the slot it was found in last time is
 * tried first, so a hot key skips the store's key lookup. An entry whose loader added tags is checked against
 * those tags' versions too.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import { decodeEntry, type Entry, sharedEntry } from "../entry/entry.ts";
import type { CacheStore, Derivation } from "../store/store.ts";
import { compareVersions } from "../entry/versions.ts";
import { isFresh } from "../entry/verdict.ts";
import { peekRemembered } from "../keys/read_keys.ts";
import { addedKeysOf } from "../load/added_tags.ts";
import { type NearFound, type NearMemo, type NearTier, NO_NEAR_TIER, Peeked } from "./near_tier.ts";

/** The near tier of `cache`'s store: its synchronous peek when it is in process, else none. */
export function storeTierOf(cache: CacheContext): NearTier {
  return cache.store.peek ? new MemoryPeekTier(cache) : NO_NEAR_TIER;
}

/** An in-process store's synchronous peek, as the near tier of its cache. */
class MemoryPeekTier implements NearTier {
  readonly name = "store";
  readonly dated = true;
  readonly #cache: CacheContext;
  readonly #store: CacheStore;
  /** The store runs on the cache's clock: it is read at the call's time (no clock read of its own). */
  readonly #sameClock: boolean;
  /**
   * The store counts the changes of the keys entries depend on and tells their expiry, and entries declare those
   * keys to it (an in-process store is given `dependsOn`): a hit may skip reading versions found current before.
   */
  readonly #counted: boolean;

  constructor(cache: CacheContext) {
    const store = cache.store;
    this.#cache = cache;
    this.#store = store;
    this.#sameClock = store.clock === cache.settings.clock;
    this.#counted = this.#sameClock && store.capabilities.inProcess && store.dependencyEpoch !== undefined &&
      store.expiresAt !== undefined;
  }

  /**
   * The entry at `keys[0]` when it may be served fresh at `now`; else what the store holds at `keys` (entry,
   * then declared versions), for the lookup to continue from. `memo` remembers the slot a hot key was found in
   * and the entry whose versions were found current, with the store's count of their changes then.
   */
  find(keys: readonly string[], now: number, memo?: NearMemo): NearFound {
    const store = this.#store, cache = this.#cache;
    const storeNow = this.#sameClock ? now : undefined;
    let entry: Entry | undefined, raws: (string | null)[] | undefined;
    if (store.peekDerived) {
      entry = memo
        ? peekRemembered(store, memo, keys[0], storeNow, sharedEntry)
        : store.peekDerived(keys[0], storeNow, sharedEntry) ?? undefined;
    } else {
      raws = store.peek!(keys, storeNow);
      entry = raws[0] === null ? undefined : decodeEntry(raws[0]);
    }
    if (entry !== undefined) {
      const added = entry.added ? addedKeysOf(cache, entry, keys) : undefined;
      const epoch = this.#counted ? store.dependencyEpoch!() : undefined;
      let valid: boolean;
      const current = memo?.current;
      if (
        current !== undefined && current.entry === entry && current.epoch === epoch && now < current.until
      ) {
        valid = true; // found current before, and none of its dependencies changed or expired since
      } else {
        valid = raws
          ? peekedVersionsMatch(store, entry.versions, raws, added, storeNow)
          : heldVersionsMatch(store, entry.versions, keys, added, storeNow);
        if (valid && memo !== undefined && epoch !== undefined && (keys.length > 1 || added !== undefined)) {
          memo.current = { entry, epoch, until: firstExpiry(store, keys, added) };
        }
      }
      // A peek is synchronous: no queued delete lands during it, so it needs no mark.
      const invalidation = cache.invalidation;
      const pending = invalidation.isPending(keys) || (added !== undefined && invalidation.isPending(added));
      if (isFresh(entry, valid, pending, now)) return entry;
    }
    return new Peeked(raws ?? store.peek!(keys, storeNow));
  }

  // The store is the tier: nothing is held apart from it.
  keysOf(): undefined {
    return undefined;
  }
  graced(): undefined {
    return undefined;
  }
  keep(): void {}
  forget(): void {}
}

/** A tag version as stored: what the hit path compares an entry's versions with, without reading the entry as text. */
const asStored: Derivation<string> = (raw: string) => raw;

/**
 * `true` when the versions `store` holds at `keys[1..]` (`keys[0]` is the entry, not read), then at `added`,
 * are exactly the entry's.
 */
function heldVersionsMatch(
  store: CacheStore,
  versions: readonly string[],
  keys: readonly string[],
  added: readonly string[] | undefined,
  now: number | undefined,
): boolean {
  const declared = keys.length - 1;
  if (versions.length !== declared + (added?.length ?? 0)) return false;
  for (let i = 1; i < keys.length; i++) {
    if (store.peekDerived!(keys[i], now, asStored) !== versions[i - 1]) return false;
  }
  if (added) {
    for (let i = 0; i < added.length; i++) {
      if (store.peekDerived!(added[i], now, asStored) !== versions[declared + i]) return false;
    }
  }
  return true;
}

/** When the first of the values at `keys[1..]` and `added` expires (`Infinity`: none is held). */
function firstExpiry(
  store: CacheStore,
  keys: readonly string[],
  added: readonly string[] | undefined,
): number {
  let first = Infinity;
  for (let i = 1; i < keys.length; i++) first = Math.min(first, store.expiresAt!(keys[i]) ?? Infinity);
  if (added) { for (const key of added) first = Math.min(first, store.expiresAt!(key) ?? Infinity); }
  return first;
}

/** The same for a store that peeks text: `raws` holds the entry then the declared versions. */
function peekedVersionsMatch(
  store: CacheStore,
  versions: readonly string[],
  raws: readonly (string | null)[],
  added: readonly string[] | undefined,
  now: number | undefined,
): boolean {
  if (!added) return compareVersions(versions, raws) === "valid";
  const declared = raws.length - 1;
  return compareVersions(versions.slice(0, declared), raws) === "valid" &&
    compareVersions(versions.slice(declared), store.peek!(added, now), 0) === "valid";
}
