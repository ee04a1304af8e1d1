/**
 * The time source. Tests pass their own clock to control expiry instead of sleeping.
 *
 * @module
 */

/** Milliseconds since the Unix epoch, like `Date.now()`. */
export interface Clock {
  /** The current time in milliseconds since the epoch. */
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };
