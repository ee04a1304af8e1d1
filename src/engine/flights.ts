/**
 * The loads in progress in this process, by entry key: the one owner of that registry. A load is registered
 * when it starts and leaves when it settles; a caller that stops waiting for it (its `hardTimeoutMs`) releases
 * it early, so later callers start their own; an invalidation that overtakes it drops it (nobody joins it, and
 * it does not store). A cache and its namespaces share one (their entry keys are distinct).
 *
 * @module
 */

import type { Flight } from "../load/flight.ts";

/** The loads in progress, by entry key. */
export class Flights {
  readonly #byKey = new Map<string, Flight>();

  /** The load of `entryKey` in progress, if any. */
  get(entryKey: string): Flight | undefined {
    return this.#byKey.get(entryKey);
  }

  /** `true` while a load of `entryKey` is in progress. */
  has(entryKey: string): boolean {
    return this.#byKey.has(entryKey);
  }

  /** Registers `flight` as the load of `entryKey` until its promise settles. */
  add(entryKey: string, flight: Flight): void {
    this.#byKey.set(entryKey, flight);
    const release = () => this.release(entryKey, flight);
    flight.promise.then(release, release);
  }

  /** Later callers of `entryKey` no longer join `flight` (it goes on, and stores its value). */
  release(entryKey: string, flight: Flight): void {
    if (this.#byKey.get(entryKey) === flight) this.#byKey.delete(entryKey);
  }

  /** An invalidation overtook the load of `entryKey`: nobody joins it, and it does not store. */
  drop(entryKey: string): void {
    this.#byKey.get(entryKey)?.drop();
    this.#byKey.delete(entryKey);
  }

  /** Drops every load `overtaken` picks (by its entry key and flight). */
  dropWhere(overtaken: (entryKey: string, flight: Flight) => boolean): void {
    for (const [entryKey, flight] of this.#byKey) if (overtaken(entryKey, flight)) this.drop(entryKey);
  }
}
