/**
 * A load in progress, shared by the concurrent callers of one key in this process, and the rule for joining
 * it: a caller may take a load's value only if that value cannot predate an invalidation the caller could
 * have seen. That holds when the load has not read its data yet, when it began reading after the caller
 * started, or when the caller observed exactly the state the load claimed (the same entry token and tag
 * versions: tokens are never reused, so an invalidation in between would show as a difference).
 *
 * @module
 */

import { writeGuard } from "../entry/entry.ts";

/** When a stored entry was made and until when it is fresh (the cache's clock, ms since the epoch). */
export interface Lifetime {
  readonly createdAt: number;
  readonly freshUntil: number;
}

/** What a load produced: the value for the caller that ran it, and a way to give others their own copy. */
export interface LoadResult {
  readonly value: unknown;
  readonly copy: () => unknown;
  /** When the stored entry was made and its logical expiry (smoothExpiry's jitter included); absent when nothing was stored. */
  readonly stored?: Lifetime;
}

/** What a load claimed before reading its data: the entry guard its write compares, and its tag versions. */
export interface Claim {
  /** The start of the entry key's value (a token) that the load's write requires; `undefined`: not stored. */
  readonly guard: string | undefined;
  /** Versions of the read's tag keys, in order; `undefined` when they could not be read: not stored. */
  readonly versions: readonly string[] | undefined;
  /** What the claim found at the entry key when its caller had not read it (the entry, or a marker). */
  readonly found?: string;
}

/** One load of one key, with the state it loads under. */
export class Flight {
  /** The dependency keys of the load (namespace generations, then tag versions), so an invalidation or `clear()` here can drop it. */
  readonly tagKeys: readonly string[];
  /** Settles with the load's result. */
  promise!: Promise<LoadResult>;
  #claim?: Claim;
  #loadingSince = Infinity;
  #lastJoin = -Infinity;
  #dropped = false;
  #joinedByState = false;

  constructor(tagKeys: readonly string[]) {
    this.tagKeys = tagKeys;
  }

  /** Marks the moment the load starts reading its data, under `claim`. */
  loading(claim: Claim): void {
    this.#claim = claim;
    this.#loadingSince = performance.now();
  }

  /**
   * Whether a caller whose lookup started at `since` (`performance.now()`) and read `raws` (entry, then tag
   * versions; `undefined` when the store could not be read) may take this load's value. Records the join.
   */
  admits(raws: readonly (string | null)[] | undefined, since: number): boolean {
    if (this.#loadingSince === Infinity || this.#loadingSince >= since) {
      this.#lastJoin = performance.now();
      return true;
    }
    if (raws === undefined || this.#claim === undefined || !sameState(raws, this.#claim)) return false;
    this.#lastJoin = performance.now();
    this.#joinedByState = true;
    return true;
  }

  /**
   * For a load whose value depends on more than the state it claimed (tags its loader added): refuses later
   * callers who would join because they read that state, and says whether one did already.
   */
  closeStateJoins(): boolean {
    this.#claim = undefined;
    return this.#joinedByState;
  }

  /**
   * An invalidation here overtook the load: nobody new joins it (it leaves the registry) and it does not store,
   * so it cannot race a newer load's write with an entry that is already invalid.
   */
  drop(): void {
    this.#dropped = true;
  }

  /** `true` once an invalidation overtook the load. */
  get dropped(): boolean {
    return this.#dropped;
  }

  /** A read issued at `issuedAt` may settle this flight only if no caller joined after it was issued. */
  answers(issuedAt: number): boolean {
    return issuedAt >= this.#lastJoin;
  }
}

function sameState(raws: readonly (string | null)[], claim: Claim): boolean {
  const { guard, versions } = claim;
  if (guard === undefined || versions === undefined || versions.length !== raws.length - 1) return false;
  if (raws[0] === null || writeGuard(raws[0]) !== guard) return false;
  for (let i = 0; i < versions.length; i++) if (versions[i] !== raws[i + 1]) return false;
  return true;
}
