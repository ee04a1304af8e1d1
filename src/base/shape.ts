/**
 * The one check that a value handed in as a client (a node-redis client, a Deno KV database, a store) has the
 * methods it will be called with: a wrong value is a `TypeError` when it is passed, not a failure on every
 * later call, which a cache would take for an outage (a miss, counted in `cache.error`).
 *
 * @module
 */

/**
 * `value`, when it is an object with every one of `methods` as a function; otherwise a `TypeError` that starts
 * with `what`, says what was `expected`, and names the first method missing.
 *
 * @example
 * ```ts
 * import { checkMethods } from "./shape.ts";
 * const kv = { get() {}, set() {} };
 * checkMethods("Cannot create store", "a key-value client", kv, ["get", "set"]); // kv
 * ```
 */
export function checkMethods<T>(what: string, expected: string, value: T, methods: readonly string[]): T {
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      `${what}: expected ${expected}, current value is ${value === null ? "null" : typeof value}`,
    );
  }
  for (const method of methods) {
    if (typeof (value as Record<string, unknown>)[method] !== "function") {
      throw new TypeError(`${what}: expected ${expected}, current value is an object without ${method}()`);
    }
  }
  return value;
}
