/**
 * The tier a cache asks before its store's asynchronous read, chosen once when the cache opens: the in-process
 * store's own synchronous peek (the memory store), L1 in front of a remote store (`@svc-infra/cache/l1`), or
 * none. The read paths ask whichever it is through this interface, so they hold no branch per tier, and a new
 * near tier (a Cache API tier, say) is one new implementation.
 *
 * @module
 */

import type { Entry } from "../entry/entry.ts";
import type { StoreSlot } from "../store/store.ts";

/** What a validation of a near entry gives: the entry the store vouched for, none, or "the store did not answer". */
export type Validated = Entry | "unavailable" | undefined;

/** A near entry that may be served once the store has vouched for it (L1, past its bound). */
export class Due {
  constructor(readonly validation: Promise<Validated>) {}
}

/** A miss of an in-process store's peek: what it read (entry, then versions), for the lookup to continue from. */
export class Peeked {
  constructor(readonly raws: (string | null)[]) {}
}

/**
 * What a hot key's read plan remembers for its near tier: the slot its entry was found in (the next hit skips
 * the key lookup), and the last entry whose dependencies were found current (only for entries that have some).
 */
export interface NearMemo {
  slot: StoreSlot | undefined;
  current: CurrentEntry | undefined;
}

/**
 * An entry whose dependencies were found current, the store's `dependencyEpoch` then and when the first of them
 * expires: while neither passes, its hits skip reading them.
 */
export interface CurrentEntry {
  readonly entry: Entry;
  readonly epoch: number;
  readonly until: number;
}

/** What {@linkcode NearTier.find} found: an entry to serve now, one to serve once validated, or a miss. */
export type NearFound = Entry | Due | Peeked | undefined;

/** A tier in front of the store's asynchronous read. */
export interface NearTier {
  /** `l1` when its hits are L1's (counted and reported as such); `store` when they are the store's own. */
  readonly name: "l1" | "store";
  /** `true` when finding needs the clock (so a cache without a near tier reads no clock per call). */
  readonly dated: boolean;
  /** The entry at `keys` (entry, then dependencies) at `now`; `memo` remembers where a hot key was found. */
  find(keys: readonly string[], now: number, memo?: NearMemo): NearFound;
  /** The keys an entry is held with (how `get` and `has` find them without knowing its tags). */
  keysOf(entryKey: string, now: number): readonly string[] | undefined;
  /** When the store cannot be reached: an entry that may be served within its grace (`staleTtl`). */
  graced(keys: readonly string[], now: number): Entry | undefined;
  /** The store vouched for `raw` at `keys` by a read issued at `validatedAt` (or earlier). */
  keep(keys: readonly string[], raw: string, validatedAt: number): void;
  /** An invalidation made here of `keys`: applies at once. */
  forget(keys: readonly string[]): void;
}

/** No tier in front of the store: every read goes to it. */
export const NO_NEAR_TIER: NearTier = Object.freeze({
  name: "store",
  dated: false,
  find: () => undefined,
  keysOf: () => undefined,
  graced: () => undefined,
  keep() {},
  forget() {},
});
