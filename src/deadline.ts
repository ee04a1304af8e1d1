/**
 * Deadlines for backend calls without a timer per call: calls that start within the same short window share
 * one `AbortSignal.timeout` and one abort listener, so a busy cache pays a Set insert per call instead of a
 * timer and two listener updates. A call's effective deadline is between 99 % and 100 % of the configured one.
 * A {@linkcode Budget} makes the backend calls of one cache operation share one deadline between them.
 *
 * @module
 */

/** The backend time one cache operation has left: every call it makes spends from it. */
export class Budget {
  #remainingMs: number;

  constructor(ms: number) {
    this.#remainingMs = ms;
  }

  /** Milliseconds left. */
  get remainingMs(): number {
    return this.#remainingMs;
  }

  /** Takes `ms` off what is left. */
  spend(ms: number): void {
    this.#remainingMs -= ms;
  }
}

/** A call waiting on its deadline. */
interface Waiting {
  expire(): void;
}

/** What happens when a bounded call settles; each returns the error to reject with, or nothing on success. */
export interface Outcome {
  /** The deadline passed first. */
  expired(): Error;
  /** The call succeeded in time. */
  succeeded(): void;
  /** The call failed in time. */
  failed(error: unknown): Error;
}

interface Window {
  readonly signal: AbortSignal;
  readonly waiting: Set<Waiting>;
  readonly openedAt: number;
}

/** Bounds promises by `ms`; `onExpire` runs for each call that passes it. */
export class Deadlines {
  readonly ms: number;
  readonly #windowMs: number;
  #window?: Window;

  constructor(ms: number) {
    this.ms = ms;
    this.#windowMs = Math.max(1, ms / 100);
  }

  /**
   * Runs `call` with a signal that aborts at the deadline. Settles with the call's value, or rejects with what
   * `outcome` makes of its failure or of the deadline passing first; a late outcome is then ignored.
   */
  bound<T>(call: (signal: AbortSignal) => Promise<T>, outcome: Outcome, ms = this.ms): Promise<T> {
    const window = ms >= this.ms * 0.99 ? this.#current() : this.#single(ms);
    return new Promise<T>((resolve, reject) => {
      const waiting: Waiting = { expire: () => reject(outcome.expired()) };
      window.waiting.add(waiting);
      call(window.signal).then((value) => {
        if (!window.waiting.delete(waiting)) return;
        outcome.succeeded();
        resolve(value);
      }, (error) => {
        if (window.waiting.delete(waiting)) reject(outcome.failed(error));
      });
    });
  }

  /** A window of its own, for a call with less than the full deadline left. */
  #single(ms: number): Window {
    return openWindow(ms, 0);
  }

  #current(): Window {
    const now = performance.now();
    const open = this.#window;
    if (open && now - open.openedAt < this.#windowMs) return open;
    return this.#window = openWindow(this.ms, now);
  }
}

/**
 * A window whose signal aborts after `ms`. `AbortSignal.timeout` does not keep the event loop alive, so a
 * finished script is not held open by a deadline; a pending backend call keeps it alive through its socket.
 */
function openWindow(ms: number, openedAt: number): Window {
  // Node wants an integer delay.
  const window: Window = {
    signal: AbortSignal.timeout(Math.max(1, Math.ceil(ms))),
    waiting: new Set(),
    openedAt,
  };
  window.signal.addEventListener("abort", () => {
    for (const waiting of window.waiting) waiting.expire();
    window.waiting.clear();
  }, { once: true });
  return window;
}
