/**
 * The options of `twoLevel()`, the `l1` option of `initCache` and `createCache`: an in-process first level in front of a remote store.
 *
 * @module
 */

import { checkOptionNames, optionNames } from "../api/option_names.ts";
import { checkCount, checkPositive } from "../base/positive.ts";

/** Options of the two-level cache's first level. */
export interface L1Options {
  /** Most entries kept in process memory (S3-FIFO eviction, as the memory store). @default {10000} */
  maxEntries?: number;
  /** Most bytes kept (UTF-16 estimate, as the memory store). @default {67108864} (64 MiB) */
  maxBytes?: number;
  /**
   * The staleness bound in milliseconds: an entry is served from process memory without asking the store only
   * while its last validation is younger than this, so a read starting later than this after an invalidation
   * was acknowledged anywhere never gets the old value. @default {1000}
   */
  maxStaleMs?: number;
}

/** Resolved L1 settings. */
export interface L1Settings {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly maxStaleMs: number;
}

/** Every option name of {@linkcode L1Options}. */
const NAMES = optionNames<L1Options>({
  maxEntries: 1,
  maxBytes: 1,
  maxStaleMs: 1,
}) as readonly (keyof L1Options)[];

/** Checks the options of `twoLevel`. `what` starts error messages. */
export function l1Settings(given: L1Options, what: string): L1Settings {
  if (typeof given !== "object" || given === null) {
    throw new TypeError(
      `${what}: l1: twoLevel() takes { maxEntries, maxBytes, maxStaleMs }, current value is ${
        JSON.stringify(given)
      }`,
    );
  }
  checkOptionNames(given, NAMES, `${what}: l1`);
  checkCount(what, "l1.maxEntries", given.maxEntries);
  checkCount(what, "l1.maxBytes", given.maxBytes);
  checkPositive(what, "l1.maxStaleMs", given.maxStaleMs);
  return {
    maxEntries: given.maxEntries ?? 10_000,
    maxBytes: given.maxBytes ?? 64 << 20,
    maxStaleMs: given.maxStaleMs ?? 1000,
  };
}
