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
