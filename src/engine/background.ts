/**
 * Work a cache does after answering its caller (refreshes, lock releases, pushes): each piece is handed to the
 * platform's `waitUntil` when there is one (so a Worker is not frozen under it) and is always awaited by
 * `close()`. A cache and its namespaces share one.
 *
 * @module
 */

import { toWaitUntil, type WaitUntil, type WaitUntilOption } from "../base/wait_until.ts";

/** The background work of one cache. */
export class BackgroundWork {
  readonly #pending = new Set<Promise<unknown>>();
  readonly #waitUntil?: WaitUntil;
  readonly #report: (message: string) => void;

  /** `waitUntil`: the cache's own; `report`: where a failure of the work is counted and logged. */
  constructor(waitUntil: WaitUntil | undefined, report: (message: string) => void) {
    this.#waitUntil = waitUntil;
    this.#report = report;
  }

  /** A call's `waitUntil` option as a function, the cache's own standing in for a detached method. */
  waitUntilOf(option: WaitUntilOption | undefined): WaitUntil | undefined {
    return toWaitUntil(option, this.#waitUntil);
  }

  /** Keeps `promise` alive: handed to `waitUntil`, tracked until it settles; its failure is reported. */
  add(promise: Promise<unknown>, waitUntil: WaitUntil | undefined = this.#waitUntil): void {
    const tracked = promise.catch((error) => this.#report(`background work failed: ${error}`))
      .finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
    try {
      waitUntil?.(tracked);
    } catch (error) {
      // Only the platform's keep-alive is lost: the work goes on, and close() awaits it.
      this.#report(
        `Cannot hand background work to waitUntil: it threw ${error}; pass the object it belongs to ` +
          "(waitUntil: ctx) or a function that calls it on that object",
      );
    }
  }

  /** Settles once the work running now has settled (never rejects). */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.#pending]);
  }
}
