/**
 * The one check of a numeric option that must be a positive, finite number (timeouts, intervals), or a
 * positive integer (counts and sizes).
 *
 * @module
 */

/**
 * `value`, when it is `undefined` or a positive, finite number; otherwise a `RangeError` that starts with `what`
 * and names the option.
 *
 * @example
 * ```ts
 * import { checkPositive } from "./positive.ts";
 * checkPositive("Cannot create memory store", "maxEntries", 1000); // 1000
 * ```
 */
export function checkPositive<T extends number | undefined>(what: string, name: string, value: T): T {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new RangeError(`${what}: ${name} must be a positive number, current value is ${value}`);
  }
  return value;
}

/**
 * `value`, when it is `undefined` or a positive integer (a count, a size in bytes); otherwise a `RangeError`
 * that starts with `what` and names the option.
 *
 * @example
 * ```ts
 * import { checkCount } from "./positive.ts";
 * checkCount("Cannot create memory store", "maxEntries", 1000); // 1000
 * ```
 */
export function checkCount<T extends number | undefined>(what: string, name: string, value: T): T {
  if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
    throw new RangeError(`${what}: ${name} must be a positive integer, current value is ${value}`);
  }
  return value;
}
