/**
 * Value serialization through `devalue` (Dates, Maps, Sets, BigInt, typed arrays, `undefined`, repeated and
 * cyclic references). Every read deserializes, so two callers never share a mutable object.
 *
 * @module
 */

import { parse, stringify } from "devalue";

/** Serializes a value; throws `TypeError` when it holds something that cannot be stored (a function, a class). */
export function serialize(value: unknown, what: string): string {
  try {
    return stringify(value);
  } catch (error) {
    throw new TypeError(
      `Cannot cache the result of ${what}: ${
        (error as Error).message
      } (plain data, Date, Map, Set, BigInt and typed arrays can be cached)`,
      { cause: error },
    );
  }
}

/** Inverse of {@linkcode serialize}; throws on malformed input. */
export function deserialize(text: string): unknown {
  return parse(text);
}
