/**
 * A circuit breaker around the store: after `threshold` failures in a row it opens and the cache skips the
 * store; after `cooldownMs` one probe call goes through (half-open), and its success closes the breaker.
 *
 * @module
 */

import type { Clock } from "../base/clock.ts";

/** Closed → open after repeated failures → half-open after the cooldown → closed on success. */
export class CircuitBreaker {
  #failures = 0;
  #openedAt = -Infinity;
  #probing = false;
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #clock: Clock;

  constructor(threshold: number, cooldownMs: number, clock: Clock) {
    this.#threshold = threshold;
    this.#cooldownMs = cooldownMs;
    this.#clock = clock;
  }

  /** `true` when a call may go to the store now. While half-open, only one probe at a time is allowed. */
  allows(): boolean {
    if (this.#failures < this.#threshold) return true;
    if (this.#clock.now() - this.#openedAt < this.#cooldownMs || this.#probing) return false;
    this.#probing = true;
    return true;
  }

  /** `true` while calls are being skipped. */
  get open(): boolean {
    return this.#failures >= this.#threshold;
  }

  /** Opens at once, as after `threshold` failures (the backend was unreachable from the start). */
  trip(): void {
    this.#failures = Math.max(this.#failures, this.#threshold);
    this.#openedAt = this.#clock.now();
  }

  succeeded(): void {
    this.#failures = 0;
    this.#probing = false;
  }

  failed(): void {
    this.#failures++;
    this.#probing = false;
    if (this.#failures >= this.#threshold) this.#openedAt = this.#clock.now();
  }
}
