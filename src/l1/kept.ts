/**
 * What L1 keeps per entry: the decoded entry, derived once per stored value, with when it was last known valid
 * and the validation in flight.
 *
 * @module
 */

import { decodeEntry, type Entry, reencodeEntry, writeGuard } from "../entry/entry.ts";
import type { Derivation } from "../store/store.ts";
import type { ReadBatch } from "../engine/read_batch.ts";

/** A validation's answer: the entry (valid), `undefined` (invalid or invalidated here), or no answer. */
export type { Validated } from "../tier/near_tier.ts";
import type { Validated } from "../tier/near_tier.ts";

/** What L1 keeps per entry key. */
export interface Kept {
  readonly entry: Entry;
  /** The entry's head up to its token: a validation compares it with what the store holds. */
  readonly guard: string;
  /** The keys it was validated with (entry, then dependencies). */
  keys: readonly string[];
  /** Before this moment (the cache's clock) nothing had invalidated it. */
  validatedAt: number;
  /** The validation in flight, if any: when it was issued, and through which batch. */
  validation?: {
    readonly promise: Promise<Validated>;
    readonly issuedAt: number;
    readonly batch: ReadBatch;
  };
}

/**
 * The kept state of a stored value, not validated yet (`keep` sets when it was). It re-encodes to the value,
 * so L1's store can keep it alone, without the text.
 */
export const unvalidated: Derivation<Kept | undefined> = Object.assign(
  (raw: string): Kept | undefined => {
    const entry = decodeEntry(raw, true);
    const guard = writeGuard(raw);
    // `validation` declared up front: one object shape for every entry, validated or not.
    return entry && guard
      ? { entry, guard, keys: [], validatedAt: -Infinity, validation: undefined }
      : undefined;
  },
  { encode: (kept: Kept | undefined) => reencodeEntry(kept?.entry) },
);
