/**
 * Error classes for conditions a caller may want to catch. Bad input uses the built-in `TypeError` and
 * `RangeError`. `instanceof` holds across the copies of the library in one process (its ESM and CommonJS
 * builds may both be loaded): each class is known by a registered symbol, not by its identity.
 *
 * @module
 */

/**
 * `instanceof` for a branded class `type` asked as `self` (its own `Symbol.hasInstance`): `true` when `value`
 * carries `brand` (set on the prototype by whichever copy made it). A subclass (a user's) keeps the ordinary
 * `instanceof`.
 */
export function isInstance(self: unknown, type: unknown, brand: symbol, value: unknown): boolean {
  if (self !== type) return Function.prototype[Symbol.hasInstance].call(self, value);
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/** Marks the instances of `type` with `brand`, for {@linkcode isInstance}. */
export function brand(type: abstract new (...args: never[]) => object, brand: symbol): void {
  Object.defineProperty(type.prototype, brand, { value: true });
}

const STORE_ERROR: unique symbol = Symbol.for("@svc-infra/cache/StoreError");
const TIMEOUT_ERROR: unique symbol = Symbol.for("@svc-infra/cache/CacheTimeoutError");

/** A backend call failed or passed its deadline. The cache treats it as a miss; strict callers may see it. */
export class StoreError extends Error {
  /** `true` for a `StoreError` of any copy of the library. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isInstance(this, StoreError, STORE_ERROR, value);
  }
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
  /** `true` for a `CacheTimeoutError` of any copy of the library. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isInstance(this, CacheTimeoutError, TIMEOUT_ERROR, value);
  }
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

brand(StoreError, STORE_ERROR);
brand(CacheTimeoutError, TIMEOUT_ERROR);
