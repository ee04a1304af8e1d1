/**
 * Every call a cache makes to its store goes through {@linkcode GuardedStore.run}: a deadline (or what is left
 * of the caller's budget), the circuit breaker, and error accounting (a counter, one log line per interval, a
 * `backend` and an `error` event). In-process stores cannot fail or hang, so their calls go straight through.
 *
 * @module
 */

import type { CacheStore } from "../store/store.ts";
import { StoreError } from "../base/errors.ts";
import { CircuitBreaker } from "./breaker.ts";
import { type Budget, Deadlines } from "./deadline.ts";
import type { Diagnostics } from "./diagnostics.ts";
import type { ContextSettings } from "./settings.ts";

/** How a call treats an open breaker; see {@linkcode GuardedStore.run}. */
export type CallMode = "call" | "probe" | "background";

/** A store behind a deadline and a circuit breaker. */
export class GuardedStore {
  readonly store: CacheStore;
  readonly #diagnostics: Diagnostics;
  readonly #breaker: CircuitBreaker;
  readonly #deadlines: Deadlines;
  readonly #beforeCall: () => void;

  /** `beforeCall` runs before each call of a remote store (the invalidation queue's overdue retry). */
  constructor(
    store: CacheStore,
    diagnostics: Diagnostics,
    settings: Pick<ContextSettings, "deadlineMs" | "breakerThreshold" | "breakerCooldownMs" | "clock">,
    beforeCall: () => void = () => {},
  ) {
    this.store = store;
    this.#beforeCall = beforeCall;
    this.#diagnostics = diagnostics;
    this.#breaker = new CircuitBreaker(settings.breakerThreshold, settings.breakerCooldownMs, settings.clock);
    this.#deadlines = new Deadlines(settings.deadlineMs);
  }

  /**
   * Runs one store call with the deadline and the breaker. Rejects with `StoreError` on failure, timeout or
   * an open breaker; callers decide what a failure means (a miss, a queued invalidation). With a `budget`,
   * the call gets what is left of it and spends from it. A `probe` (an invalidation's delivery or soft revision)
   * goes through an open breaker, so it lands as soon as the store answers again; a `background` probe (a timed
   * retry) has no caller waiting and does not keep the process alive.
   */
  run<T>(
    op: string,
    call: (signal?: AbortSignal) => Promise<T>,
    budget?: Budget,
    mode: CallMode = "call",
  ): Promise<T> {
    if (this.store.capabilities.inProcess) return call();
    this.#beforeCall();
    if (mode === "call" && !this.#breaker.allows()) {
      return Promise.reject(new StoreError(this.store.name, `${op} skipped: the circuit breaker is open`));
    }
    const ms = budget ? Math.min(budget.remainingMs, this.#deadlines.ms) : this.#deadlines.ms;
    if (ms <= 0) {
      return Promise.reject(new StoreError(this.store.name, `${op} skipped: the call's deadline is spent`));
    }
    const started = performance.now();
    const diagnostics = this.#diagnostics;
    const telemetry = diagnostics.telemetry;
    return this.#deadlines.bound(
      telemetry?.storeSpans
        ? (signal) =>
          telemetry.span(`cache.backend ${op}`, { "cache.operation": op }, true, () => call(signal))
        : call,
      {
        expired: () => {
          const elapsed = performance.now() - started;
          budget?.spend(elapsed);
          const error = new StoreError(this.store.name, `${op} got no answer within ${ms} ms`);
          return this.#failed(op, error, elapsed);
        },
        succeeded: () => {
          const elapsed = performance.now() - started;
          budget?.spend(elapsed);
          this.#breaker.succeeded();
          diagnostics.metrics.time("cache.backend.ms", elapsed);
          if (diagnostics.observed) diagnostics.emit({ type: "backend", operation: op, durationMs: elapsed });
        },
        failed: (error) => {
          const elapsed = performance.now() - started;
          budget?.spend(elapsed);
          return this.#failed(
            op,
            error instanceof StoreError ? error : new StoreError(
              this.store.name,
              `${op} failed: ${diagnostics.redact(String((error as Error)?.message ?? error))}`,
              { cause: error },
            ),
            elapsed,
          );
        },
      },
      ms,
      mode === "background",
    );
  }

  #failed(op: string, error: StoreError, elapsed: number): StoreError {
    const diagnostics = this.#diagnostics;
    const wasOpen = this.#breaker.open;
    this.#breaker.failed();
    if (!wasOpen && this.#breaker.open) diagnostics.metrics.count("cache.breaker.open");
    diagnostics.reportError(`${op}: ${error.message}`);
    if (diagnostics.observed) {
      diagnostics.emit({ type: "backend", operation: op, durationMs: elapsed, error });
      diagnostics.emit({ type: "error", operation: op, error });
    }
    return error;
  }

  /**
   * Starts with the breaker open when the store could not be reached at start-up: early calls go straight to
   * their loaders, and a probe after the cooldown finds the store once it is up. Reported once.
   */
  unreachableAtStart(reason: string): void {
    this.#breaker.trip();
    this.#diagnostics.metrics.count("cache.breaker.open");
    this.#diagnostics.reportError(
      `the ${this.store.name} store cannot be reached at start-up: ${reason}; serving from loaders until it answers`,
    );
  }
}
