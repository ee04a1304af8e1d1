/**
 * Negative caching: a loader returns `negativeCache({ ttl, value })` to cache "not found" for its own ttl.
 *
 * @module
 */

import { checkSeconds } from "../base/ttl.ts";
import { checkOptions, optionNames } from "../api/option_names.ts";

/** Marks negative results; `Symbol.for`, so copies of the library agree. */
export const NEGATIVE_BRAND: unique symbol = Symbol.for("@svc-infra/cache/negative");

/** A cached "not found"; open it with {@linkcode unwrapNegativeCacheResult}. */
export interface NegativeCacheResult<T = null> {
  /** Brand checked by {@linkcode isNegativeCacheResult}. */
  readonly [NEGATIVE_BRAND]: true;
  /** Seconds the "not found" stays cached. */
  readonly ttl: number;
  /** The value to hand out in place of the entity (usually `null`). */
  readonly value: T;
}

/** Options of {@linkcode negativeCache}. */
export interface NegativeCacheOptions<T> {
  /** Seconds the "not found" stays cached. */
  ttl: number;
  /** The value to hand out in place of the entity. @default {null} */
  value?: T;
}

const NEGATIVE_OPTION_NAMES = optionNames<NegativeCacheOptions<unknown>>({ ttl: 1, value: 1 });

/**
 * Marks a loader's result as "not found", cached for `ttl` seconds whatever the function's own ttl.
 *
 * @example Hot 404s
 * ```ts
 * import { cacheRead, isNegativeCacheResult, negativeCache } from "@svc-infra/cache";
 * const getUser = cacheRead({ key: "user:{userId}" }, async ({ userId }: { userId: number }) =>
 *   userId === 1 ? { name: "Ada" } : negativeCache({ ttl: 60, value: null }));
 * const result = await getUser({ userId: 2 });
 * if (isNegativeCacheResult(result)) console.log("404");
 * ```
 */
export function negativeCache<T = null>(options: NegativeCacheOptions<T>): NegativeCacheResult<T> {
  checkOptions(options, NEGATIVE_OPTION_NAMES, "Cannot make a negative result");
  if (options.ttl === undefined) {
    throw new TypeError(
      "Cannot make a negative result: ttl (seconds) is required, current value is undefined",
    );
  }
  checkSeconds(options.ttl, "a negative result", "ttl");
  return { [NEGATIVE_BRAND]: true, ttl: options.ttl, value: (options.value ?? null) as T };
}

/** `true` when `result` is a (possibly cached) "not found" from {@linkcode negativeCache}. */
export function isNegativeCacheResult(result: unknown): result is NegativeCacheResult<unknown> {
  return typeof result === "object" && result !== null &&
    (result as Record<symbol, unknown>)[NEGATIVE_BRAND] === true;
}

/** The value inside a negative result; other values are returned unchanged. */
export function unwrapNegativeCacheResult<T>(result: NegativeCacheResult<T> | T): T {
  return isNegativeCacheResult(result) ? (result as NegativeCacheResult<T>).value : result as T;
}
