/**
 * Refreshing a cached function's entries before callers have to wait: early refresh (at `earlyTtl`, or at
 * random as expiry nears with XFetch), and the grace window (stale-while-revalidate: the stale value is served
 * while one refresh runs; the caller waits for it at most `timeoutMs`). One refresh per key at a time, and
 * none while a failed one backs off.
 *
 * @module
 */

import type { Entry } from "../entry/entry.ts";
import type { Flight } from "../load/flight.ts";
import { Budget } from "../engine/deadline.ts";
import { settledWithin } from "../base/timers.ts";
import { xfetchDue } from "./xfetch.ts";
import type { CacheContext } from "../engine/context.ts";
import type { Job } from "../load/job.ts";
import type { LoadRunner } from "../load/load_runner.ts";
import type { ReadOptions } from "./options.ts";
import type { Serving } from "./serving.ts";

const DEFAULT_REFRESH_BACKOFF_MS = 10_000;
/**
 * Keys whose failed refresh a cache remembers. Forgetting one early only lets its refresh be retried sooner,
 * so the bound costs nothing but keeps a failing source from growing the map without end.
 */
const BACKOFF_KEYS = 10_000;

/** The refreshes of one cached function. */
export class Refresher<A> {
  readonly #options: ReadOptions<string, A>;
  readonly #loads: LoadRunner<A>;
  readonly #serving: Serving;

  constructor(options: ReadOptions<string, A>, loads: LoadRunner<A>, serving: Serving) {
    this.#options = options;
    this.#loads = loads;
    this.#serving = serving;
  }

  /** Early refresh is due: at `earlyTtl`, or at random as expiry nears (XFetch). */
  due(entry: Entry, now: number, cache: CacheContext): boolean {
    if (now >= entry.refreshAt) return true;
    return this.#options.earlyRefresh === "probabilistic" &&
      xfetchDue(now, entry.freshUntil, entry.loadMs, this.#options.beta ?? 1, cache.settings.random);
  }

  /** Starts one background refresh of a key (none while one runs or while a failed one backs off). */
  start(job: Job<A>, raws: (string | null)[] | undefined, why: string): Flight | undefined {
    const { cache, keys } = job;
    const what = this.#serving.what;
    const backoff = cache.refreshBackoff;
    if (cache.inflight.has(keys[0]) || (backoff.get(keys[0]) ?? 0) > cache.settings.clock.now()) return;
    cache.metrics.count("cache.refresh", what);
    cache.diagnostics.debug(`[REFRESH] key=${job.logical} cause=${why}`);
    // Off the caller's path: the refresh has a deadline budget of its own.
    const flight = this.#loads.start(
      { ...job, budget: new Budget(cache.settings.deadlineMs) },
      raws,
      `${why}_refresh`,
    );
    cache.work.add(
      flight.promise.then(() => void backoff.delete(keys[0]), (error) => {
        if (backoff.size >= BACKOFF_KEYS) backoff.delete(backoff.keys().next().value!);
        backoff.set(
          keys[0],
          cache.settings.clock.now() + (this.#options.refreshBackoffMs ?? DEFAULT_REFRESH_BACKOFF_MS),
        );
        cache.metrics.count("cache.refresh.error", what);
        cache.diagnostics.debug(
          `[REFRESH-ERROR] key=${job.logical} error=${(error as Error)?.message ?? error}`,
        );
      }),
      job.waitUntil,
    );
    return flight;
  }

  /**
   * The grace window: the stale value is served while one refresh runs in the background; the caller waits
   * for that refresh at most `timeoutMs`. A failed refresh keeps the stale value and backs off.
   */
  async serveStale<R>(
    job: Job<A>,
    entry: Entry,
    stale: R,
    raws: (string | null)[],
    started: number,
  ): Promise<R> {
    this.#serving.served(job.cache, job.logical, job.onResult, entry, started, "STALE");
    const running = job.cache.inflight.get(job.keys[0]);
    const flight = running
      ? (running.admits(raws, started) ? running : undefined)
      : this.start(job, raws, "stale");
    const wait = this.#options.timeoutMs ?? 0;
    if (!flight || wait <= 0) return stale;
    const fresh = await settledWithin(flight.promise, wait);
    return fresh ? await this.#serving.copyOf(fresh) as R : stale;
  }
}
