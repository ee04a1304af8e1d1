/**
 * The options of a cache instance's imperative API (`getOrSet`, `set`, `invalidateTags`), their name lists
 * (a typo is a `TypeError` naming the closest), and the rule for keys and tags given to it.
 *
 * @module
 */

import { CALL_OPTION_NAMES, type CallOptions, READ_OPTION_NAMES, type ReadOptions } from "../read/options.ts";
import { optionNames } from "./option_names.ts";
import { isName } from "../keys/name.ts";

/** Options of {@linkcode Cache.getOrSet}: a read's options, with literal tags, and a call's. */
export interface GetOrSetOptions
  extends Omit<ReadOptions<string, unknown>, "key" | "tags">, Omit<CallOptions, "onResult"> {
  /** Tags of the entry: literal names (no templates: there is no argument to render from). */
  tags?: readonly string[];
}

/** Every option name of {@linkcode GetOrSetOptions}: derived as the type is. */
export const GET_OR_SET_OPTION_NAMES = [
  ...READ_OPTION_NAMES.filter((name) => name !== "key"),
  ...CALL_OPTION_NAMES.filter((name) => name !== "onResult"),
];

/** Options of {@linkcode Cache.set}. */
export type SetOptions = Pick<GetOrSetOptions, "ttl" | "tags" | "smoothExpiry" | "earlyTtl" | "staleTtl">;

/** Every option name of {@linkcode SetOptions}. */
export const SET_OPTION_NAMES = optionNames<SetOptions>({
  ttl: 1,
  tags: 1,
  smoothExpiry: 1,
  earlyTtl: 1,
  staleTtl: 1,
});

/** Options of {@linkcode Cache.invalidateTags}. */
export interface InvalidateOptions {
  /**
   * Soft: tagged entries become stale instead of misses, so within their `staleTtl` a hit serves the old value
   * while one refresh runs. Entries without `staleTtl` are misses, as with a hard invalidation.
   */
  soft?: boolean;
}

/** Every option name of {@linkcode InvalidateOptions}. */
export const INVALIDATE_OPTION_NAMES = optionNames<InvalidateOptions>({ soft: 1 });

/** A key or tag given to the imperative API: a non-empty, well-formed string. */
export function checkKey(key: unknown, action: string, what: "key" | "tags" = "key"): string {
  if (!isName(key)) {
    const rule = what === "key"
      ? "the key must be a non-empty, well-formed string"
      : "tags must be non-empty, well-formed strings";
    throw new TypeError(`Cannot ${action}: ${rule}, current value is ${JSON.stringify(key)}`);
  }
  return key;
}

/** Checks a list of keys (or of tags, `what`) as {@linkcode checkKey} checks one. */
export function checkKeys(keys: unknown, action: string, what: "keys" | "tags" = "keys"): string[] {
  if (!Array.isArray(keys)) {
    throw new TypeError(
      `Cannot ${action}: ${what} must be an array of strings, current value is ${JSON.stringify(keys)}`,
    );
  }
  return keys.map((key) => checkKey(key, action, what === "keys" ? "key" : "tags"));
}
