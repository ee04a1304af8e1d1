/**
 * One call of a cached function, as the reader and the loads it starts see it: computed once per call.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import type { WaitUntil } from "../base/wait_until.ts";
import type { Budget } from "../engine/deadline.ts";
import type { ReadResult } from "../read/options.ts";
import type { NearTier } from "../tier/near_tier.ts";
import type { ReadPlan } from "../keys/read_keys.ts";

/** Everything one call needs, computed once per call. */
export interface Job<A> {
  readonly cache: CacheContext;
  readonly thisArg: unknown;
  readonly arg: A;
  readonly logical: string;
  /** The entry key, then its dependency keys (generations, tag versions): what a hit reads in one batch. */
  readonly keys: readonly string[];
  /** Where the keys came from; it remembers the entry a remote store last returned. */
  readonly plan: ReadPlan;
  readonly ttl: number;
  readonly waitUntil?: WaitUntil;
  readonly onResult?: (result: ReadResult) => void;
  /** What a synchronous peek already read (entry and tag versions), so the lookup does not read again. */
  readonly peeked?: (string | null)[];
  /** The tier in front of the store this call asks (L1, an in-process store's peek, or none). */
  readonly near: NearTier;
  /** With a near tier, when the call began (the cache's clock): no read of it was issued earlier, so L1 dates entries by it. */
  readonly since: number;
  /** The backend time this call has left; set when the call goes past its first read. */
  budget?: Budget;
  /** When the call's lookup began (`performance.now()`), for the debug line's duration. */
  startedAt?: number;
}
