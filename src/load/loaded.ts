/**
 * What becomes of a loader's value, for single and batch loads alike: encoded once (a value that cannot be
 * encoded is returned but not cached, warned once per function), handed to its callers (a joining caller
 * revives its own copy from the encoding), and written with the other values of the same load in one store
 * call, the near tier kept in step with what the store took.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import type { Budget } from "../engine/deadline.ts";
import type { Encoded } from "../entry/codec.ts";
import { readEncoded } from "../entry/value.ts";
import { type EntryShape, type EntryWrite, entryWrite, type Storable, storeEntries } from "./entry_write.ts";
import type { Lifetime, LoadResult } from "./flight.ts";
import type { NearTier } from "../tier/near_tier.ts";

/** The encoding of a loaded value; `undefined` (warned once per function) when it cannot be stored. */
export function encodeLoaded(cache: CacheContext, what: string, value: unknown): Encoded | undefined {
  try {
    return cache.codec.serialize(value, what);
  } catch (error) {
    cache.metrics.count("cache.error", what);
    cache.diagnostics.warnOnce(
      `serialize:${what}`,
      `${(error as Error).message}; results are returned but not cached`,
    );
    return undefined;
  }
}

/**
 * What a load hands its callers: `output` for the caller that ran it, a copy revived from `encoded` for each
 * caller that joined (the output itself when it could not be encoded, so it was not stored).
 */
export function loadResult(
  cache: CacheContext,
  output: unknown,
  encoded: Encoded | undefined,
  negative: boolean,
  ttl: number,
  stored?: Lifetime,
): LoadResult {
  return {
    value: output,
    copy: encoded ? () => readEncoded(encoded, negative, ttl, cache.codec) : () => output,
    stored,
  };
}

/** One loaded value to store; `servable: false` when a hit may not serve it (its added tags were not read first). */
export interface ToStore extends Storable {
  readonly servable?: boolean;
}

/**
 * Writes the entries of one load (one store call) and keeps the near tier in step: what the store took is kept
 * there as of `since`, and an entry that may not be served leaves there the one it replaced. Resolves each
 * item's lifetime (made at, fresh until), or `undefined` when it was not stored.
 */
export async function storeLoaded(
  cache: CacheContext,
  what: string,
  shape: EntryShape,
  items: readonly ToStore[],
  budget: Budget | undefined,
  near: NearTier,
  since: number,
): Promise<(Lifetime | undefined)[]> {
  const entries = items.map((item) => entryWrite(cache, what, shape, item));
  const present = entries.filter((entry): entry is EntryWrite => entry !== undefined);
  const stored = await storeEntries(cache, what, present, budget);
  let at = 0;
  return entries.map((entry, i) => {
    if (!entry || !stored[at++]) return undefined;
    const keys = items[i].keys;
    if (items[i].servable === false) return void near.forget([keys[0]]);
    near.keep(keys, entry.write.value, since);
    return entry.lifetime;
  });
}
