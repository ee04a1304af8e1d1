/**
 * The one check of a numeric option that must be a positive, finite number (sizes, timeouts, intervals).
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
