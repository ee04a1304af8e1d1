/**
 * Error classes for conditions a caller may want to catch. Bad input uses the built-in `TypeError` and
 * `RangeError`.
 *
 * @module
 */

/** A backend call failed or passed its deadline. The cache treats it as a miss; strict callers may see it. */
export class StoreError extends Error {
  /** The store's name, e.g. `redis`. */
  readonly store: string;
  /** Makes an error naming the store: "Cannot use the redis store: …". */
  constructor(store: string, message: string, options?: ErrorOptions) {
    super(`Cannot use the ${store} store: ${message}`, options);
    this.name = "StoreError";
    this.store = store;
  }
}

/** A load took longer than the read's `hardTimeoutMs`. The load goes on and stores its value when done. */
export class CacheTimeoutError extends Error {
  /** The cached function's name. */
  readonly function: string;
  /** The bound that passed, in milliseconds. */
  readonly timeoutMs: number;
  /** Makes the error: "Cannot load getUser: no value within 200 ms". */
  constructor(fn: string, timeoutMs: number) {
    super(`Cannot load ${fn}: no value within ${timeoutMs} ms`);
    this.name = "CacheTimeoutError";
    this.function = fn;
    this.timeoutMs = timeoutMs;
  }
}
