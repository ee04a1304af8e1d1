/**
 * Deadlines for backend calls without a timer per call: calls that start in the same turn of the event loop
 * (before its queued microtasks have run) share one timer and one abort signal, so a burst of callers pays a
 * Set insert per call instead of a timer and two listener updates. Not a window in time: on Workers a timer
 * dies with the request that set it, and a call of another request that joined it had no deadline at all.
 * A {@linkcode Budget} makes the backend calls of one cache operation share one deadline between them.
 *
 * @module
 */

import { hold, unref } from "../base/timers.ts";

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

  /**
   * What `call` returns, given at most what is left: rejects with `expired()` once that runs out (at once when
   * nothing is left, without calling). The time waited is spent either way. For a wait shared with other
   * calls (a batched read), whose own deadline may be longer than what this one has left.
   */
  within<T>(call: () => Promise<T>, expired: () => Error): Promise<T> {
    const ms = this.#remainingMs;
    if (ms <= 0) return Promise.reject(expired());
    const started = performance.now();
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const finish = () => {
        if (done) return false;
        done = true;
        clearTimeout(timer);
        this.spend(performance.now() - started);
        return true;
      };
      const timer = setTimeout(() => finish() && reject(expired()), Math.ceil(ms));
      call().then((value) => finish() && resolve(value), (error) => finish() && reject(error));
    });
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
  readonly timer: ReturnType<typeof setTimeout>;
  /** Unsettled calls a caller waits for. */
  holding: number;
  /** Calls may still join it (this turn's window). */
  open: boolean;
}

/** Bounds promises by `ms`; the call's `outcome.expired()` gives the error of each call that passes it. */
export class Deadlines {
  readonly ms: number;
  #window?: Window;

  constructor(ms: number) {
    this.ms = ms;
  }

  /**
   * Runs `call` with a signal that aborts at the deadline. Settles with the call's value, or rejects with what
   * `outcome` makes of its failure or of the deadline passing first; a late outcome is then ignored.
   */
  bound<T>(
    call: (signal: AbortSignal) => Promise<T>,
    outcome: Outcome,
    ms = this.ms,
    background = false,
  ): Promise<T> {
    const window = background || ms < this.ms ? openWindow(ms) : this.#current();
    // A caller waits: the deadline keeps the process alive until the call settles (a background call never).
    if (!background && window.holding++ === 0) hold(window.timer, true);
    const release = () => {
      if (!background && --window.holding === 0) hold(window.timer, false);
    };
    return new Promise<T>((resolve, reject) => {
      const waiting: Waiting = { expire: () => reject(outcome.expired()) };
      window.waiting.add(waiting);
      let reply: Promise<T>;
      try {
        reply = Promise.resolve(call(window.signal)); // a native promise is itself: nothing allocated
      } catch (error) {
        reply = Promise.reject(error); // a store that throws at once has failed, not timed out
      }
      reply.then((value) => {
        release();
        if (!settled(window, waiting)) return;
        outcome.succeeded();
        resolve(value);
      }, (error) => {
        release();
        if (settled(window, waiting)) reject(outcome.failed(error));
      });
    });
  }

  /** The window of this turn: opened by its first call, closed to later turns once the microtasks run. */
  #current(): Window {
    if (this.#window) return this.#window;
    const window = this.#window = openWindow(this.ms);
    window.open = true;
    queueMicrotask(() => {
      this.#window = undefined;
      window.open = false;
      if (window.waiting.size === 0) clearTimeout(window.timer);
    });
    return window;
  }
}

/**
 * Removes a settled call from its window; `false` when the deadline had passed first. A window no call can
 * join any more stops its timer once its last call settled, so that settled calls leave no timer behind.
 */
function settled(window: Window, waiting: Waiting): boolean {
  const inTime = window.waiting.delete(waiting);
  if (inTime && window.waiting.size === 0 && !window.open) clearTimeout(window.timer);
  return inTime;
}

/**
 * A window whose signal aborts after `ms`. Its timer holds the process only while calls of a waiting caller
 * are unsettled, so a finished script is not kept open by a deadline (as Deno's `AbortSignal.timeout` with a
 * listener would be).
 */
function openWindow(ms: number): Window {
  const controller = new AbortController();
  // Node wants an integer delay.
  const timer = setTimeout(() => {
    controller.abort(new DOMException("The deadline passed", "TimeoutError"));
    for (const waiting of window.waiting) waiting.expire();
    window.waiting.clear();
  }, Math.max(1, Math.ceil(ms)));
  unref(timer);
  const window: Window = { signal: controller.signal, waiting: new Set(), timer, holding: 0, open: false };
  return window;
}
