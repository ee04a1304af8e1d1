/**
 * A caller waiting for a load: its own copy when it joined another caller's load, the miss reported through
 * `onResult` with the stored entry's own expiry, and `hardTimeoutMs`, past which the caller gets a
 * `CacheTimeoutError` while the load goes on and stores its value (later callers start their own).
 *
 * @module
 */

import type { Flight } from "../load/flight.ts";
import type { Job } from "../load/job.ts";
import { CacheTimeoutError } from "../base/errors.ts";
import type { Serving } from "./serving.ts";

/** Waits for `flight`'s value, within `hardTimeoutMs` when set; `joined`: the caller joined another's load. */
export function waitForLoad<A, R>(
  job: Job<A>,
  flight: Flight,
  joined: boolean,
  serving: Serving,
  hardTimeoutMs: number | undefined,
): Promise<R> {
  let timedOut = false; // then the caller was told its error: no result follows
  const result = flight.promise.then((r) => {
    if (job.onResult && !timedOut) {
      const now = job.cache.settings.clock.now();
      // The stored entry's own times (expiry jittered by smoothExpiry), so headers match what later hits say.
      const { createdAt, freshUntil } = r.stored ?? { createdAt: now, freshUntil: now + job.ttl * 1000 };
      job.onResult({ status: "miss", createdAt, freshUntil });
    }
    return (joined ? serving.copyOf(r) : r.value) as R;
  });
  if (hardTimeoutMs === undefined) return result;
  return new Promise<R>((resolve, reject) => {
    const timer = setTimeout(() => {
      timedOut = true;
      job.cache.work.add(flight.promise, job.waitUntil); // the load goes on and stores its value
      // ...but later callers start their own: a load that never settles must not hold the key forever.
      job.cache.inflight.release(job.keys[0], flight);
      reject(new CacheTimeoutError(serving.what, hardTimeoutMs));
    }, hardTimeoutMs);
    result.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error) => (clearTimeout(timer), reject(error)),
    );
  });
}
