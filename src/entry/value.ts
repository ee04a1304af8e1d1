/**
 * What callers get from a stored entry: its validity against the versions read with it, and its value, revived
 * (a fresh copy per caller) or shared and frozen (`zeroCopy`).
 *
 * @module
 */

import type { Entry } from "./entry.ts";
import type { Codec, Encoded } from "./codec.ts";
import { isNegativeCacheResult, negativeCache } from "./negative.ts";

/** An entry whose value cannot be revived (damaged). */
export const NOTHING: unique symbol = Symbol("nothing");

/** The value a caller gets from an entry (a copy, or with `zeroCopy` the frozen shared tree); `NOTHING` when it cannot be revived. */
export function readValue(entry: Entry, codec: Codec, zeroCopy = false): unknown {
  try {
    const value = zeroCopy && entry.shared && entry.json
      ? deepFreeze(entry.parsed)
      : codec.revive(entry.parsed, entry.json, entry.shared);
    return entry.negative ? negativeCache({ ttl: entry.ttl, value }) : value;
  } catch {
    return NOTHING;
  }
}

/**
 * Freezes a JSON tree once; later calls return it at once. The tree is a parse of stored text and is frozen
 * children first, so a frozen root means a frozen tree (one flag read, no lookup in a side table).
 */
function deepFreeze(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return value;
  for (const child of Object.values(value)) deepFreeze(child);
  return Object.freeze(value);
}

/** The value of a just-encoded result, as a later hit would return it. */
export function readEncoded(encoded: Encoded, negative: boolean, ttl: number, codec: Codec): unknown {
  const value = codec.revive(JSON.parse(encoded.text), encoded.json);
  return negative ? negativeCache({ ttl, value }) : value;
}

/**
 * Another copy of a value the cache handed out, made as a hit makes one (through the codec, so registered
 * types and negative results keep what they are). A frozen value (`zeroCopy`) is shared as it is; a value the
 * codec cannot hold (it was not stored either) has no faithful copy and is handed out as it is.
 */
export function copyServed(value: unknown, codec: Codec): unknown {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return value;
  if (isNegativeCacheResult(value)) {
    return negativeCache({ ttl: value.ttl, value: copyServed(value.value, codec) });
  }
  try {
    const encoded = codec.serialize(value, "a copy");
    return codec.revive(JSON.parse(encoded.text), encoded.json);
  } catch {
    return value;
  }
}
