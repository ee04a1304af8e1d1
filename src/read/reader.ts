/**
 * The engine behind `cacheRead`: the hit path (one batch read of the entry and its tag versions), misses
 * coalesced per process and optionally locked per cluster, refresh-ahead (fixed or XFetch), the grace window
 * (stale-while-revalidate, stale-if-error) and load time bounds.
 *
 * @module
 */

import type { CacheContext, InvalidationResult } from "../engine/context.ts";
import type { Flight } from "../load/flight.ts";
import { Budget } from "../engine/deadline.ts";
import { CacheTimeoutError } from "../base/errors.ts";
import type { CompiledTemplate } from "../keys/template.ts";
import type { CompiledTags } from "../keys/tags.ts";
import { ReadKeys, type ReadPlan } from "../keys/read_keys.ts";
import type { WaitUntil } from "../base/wait_until.ts";
import { decodeEntry, type Entry, isLoadingMarker } from "../entry/entry.ts";
import { NOTHING } from "../entry/value.ts";
import { verdict } from "../entry/verdict.ts";
import { CALL_OPTION_NAMES, type CallOptions, type Loader, type ReadOptions } from "./options.ts";
import { checkOptions } from "../api/option_names.ts";
import type { Job } from "../load/job.ts";
import { LoadRunner } from "../load/load_runner.ts";
import { validateLoaded, validStored } from "./schema.ts";
import { LoadContext } from "../load/loader_context.ts";
import { entryValidity } from "../load/added_tags.ts";
import { Serving } from "./serving.ts";
import { Refresher } from "./refresh.ts";
import { Due, type NearFound, type NearTier, Peeked } from "../tier/near_tier.ts";
import { answer } from "./call_answer.ts";
import { waitForLoad } from "./load_wait.ts";

/** A call past its first step: what it was called with, and the near tier it asked. */
interface Started<A> {
  readonly thisArg: unknown;
  readonly arg: A;
  readonly plan: ReadPlan;
  readonly ttl: number;
  readonly waitUntil: WaitUntil | undefined;
  readonly call: CallOptions | undefined;
  readonly near: NearTier;
  readonly since: number;
}

/** Reads, loads and refreshes the entries of one cached function. */
export class Reader<A, R> {
  readonly #what: string;
  readonly #options: ReadOptions<string, A>;
  readonly #fn: Loader<A, R>;
  /** The cache this function reads, the default one unless bound to an instance (resolved per call, so `initCache` may come later). */
  readonly #resolve: () => CacheContext;
  /** Which keys a call reads: its entry key and its dependencies. */
  readonly #keys: ReadKeys<A>;
  readonly #loads: LoadRunner<A>;
  /** The value a hit serves, and its accounting. */
  readonly #serving: Serving;
  readonly #refresh: Refresher<A>;

  constructor(
    what: string,
    keyTemplate: CompiledTemplate | undefined,
    options: ReadOptions<string, A>,
    tags: CompiledTags<A>,
    fn: Loader<A, R>,
    resolve: () => CacheContext,
    supersede = false,
  ) {
    this.#resolve = resolve;
    this.#what = what;
    this.#options = options;
    this.#fn = fn;
    this.#keys = new ReadKeys(what, keyTemplate, options.key, tags);
    this.#loads = new LoadRunner(what, options, fn, supersede);
    this.#serving = new Serving(what, options);
    this.#refresh = new Refresher(options, this.#loads, this.#serving);
  }

  /** The logical key (without namespace) of an argument. */
  logicalKey(arg: A): string {
    return this.#keys.logicalKey(arg);
  }

  /** A call of the cached function. */
  get(thisArg: unknown, arg: A, call?: CallOptions): Promise<R> {
    try {
      const cache = this.#resolve();
      let waitUntil = cache.settings.waitUntil;
      if (call !== undefined) {
        checkOptions(call, CALL_OPTION_NAMES, `Cannot call ${this.#what}`);
        // Resolved up front, so that a waitUntil which cannot work fails every call, not the first refresh.
        if (call.waitUntil !== undefined) waitUntil = cache.work.waitUntilOf(call.waitUntil);
      }
      const ttl = cache.ttlSeconds(this.#options.ttl);
      if (ttl === 0) {
        cache.metrics.count("cache.skip", this.#what);
        const ctx = new LoadContext(this.#what); // nothing is replaced: no stale entry
        const loaded = Promise.resolve(Reflect.apply(this.#fn, thisArg, [arg, ctx])).then(
          (value) => ctx.settle(value) as R,
          (error) => (ctx.fail(), Promise.reject(error)),
        );
        const schema = this.#serving.schema;
        return schema ? loaded.then((value) => validateLoaded(schema, value, this.#what) as R) : loaded;
      }
      const plan = this.#keys.plan(cache, arg);
      const near = this.#options.l1 === false ? cache.storeTier : cache.near;
      // Only a near tier dates what it finds: a cache without one reads no clock per call.
      const since = near.dated ? cache.settings.clock.now() : 0;
      const found = !plan.pending && !call?.force ? near.find(plan.keys as string[], since, plan) : undefined;
      if (found === undefined || found instanceof Peeked || found instanceof Due) {
        return answer(
          this.#beyondNear(cache, { thisArg, arg, plan, ttl, waitUntil, call, near, since }, found),
          call,
        );
      }
      const value = this.#nearHit(cache, near, plan.logical, call, found, false);
      // A plain hit returns before the call's job (and its closures) exist: only a refresh or a miss needs it.
      if (value !== NOTHING && !this.#refresh.due(found, since, cache)) {
        return answer(Promise.resolve(value as R), call);
      }
      const started = { thisArg, arg, plan, ttl, waitUntil, call, near, since };
      return answer(this.#beyondNear(cache, started, found, value), call);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The rest of a call the near tier did not answer: a refresh its hit is due for, a validation it waits for,
   * or the store lookup (and the load after a miss). `nearValue`: the value of `found` when it was served.
   */
  #beyondNear(
    cache: CacheContext,
    call: Started<A>,
    found: NearFound,
    nearValue: unknown = NOTHING,
  ): Promise<R> {
    const { thisArg, arg, plan, ttl, waitUntil, near, since } = call;
    const { logical, keys, pending } = plan;
    const force = call.call?.force;
    const jobFor = (resolved: readonly string[], budget?: Budget): Job<A> => ({
      cache,
      thisArg,
      arg,
      logical,
      keys: resolved,
      plan,
      ttl,
      waitUntil,
      onResult: call.call?.onResult,
      peeked: found instanceof Peeked ? found.raws : undefined,
      near,
      since,
      budget,
    });
    const start = (resolved: readonly string[], budget?: Budget) => {
      const job = jobFor(resolved, budget);
      if (!force) return this.#lookup(job);
      job.budget = new Budget(cache.settings.deadlineMs);
      return this.#bounded(job, this.#loads.start(job, undefined, "forced"), false);
    };
    if (nearValue !== NOTHING) {
      // Served from the near tier, and due for an early refresh.
      this.#refresh.start(jobFor(keys as string[]), undefined, "early");
      return Promise.resolve(nearValue as R);
    }
    if (found instanceof Due) {
      // The validation is the call's first store request: what it took is gone from the call's deadline.
      const budget = new Budget(cache.settings.deadlineMs);
      const validating = performance.now();
      return found.validation.then((entry) => {
        budget.spend(performance.now() - validating);
        // Unvalidated, an entry past the bound may have been invalidated: looked up (and loaded) instead.
        if (entry === undefined || entry === "unavailable") return start(keys as string[], budget);
        const value = this.#nearHit(cache, near, logical, call.call, entry, false);
        if (value === NOTHING) return start(keys as string[], budget);
        const now = cache.settings.clock.now();
        if (this.#refresh.due(entry, now, cache)) {
          this.#refresh.start({ ...jobFor(keys as string[]), since: now }, undefined, "early");
        }
        return value as R;
      });
    }
    // A near entry whose value could not be revived is looked up like a miss.
    return pending ? Promise.all(keys).then(start) : start(keys as string[]);
  }

  /** Removes one argument's entry; resolves when delivered or queued (like tag invalidation). */
  async invalidate(arg: A): Promise<InvalidationResult> {
    const cache = this.#resolve();
    return await cache.invalidation.entries([cache.keys.entryKey(this.logicalKey(arg))]);
  }

  /**
   * A hit from the near tier: the value, counted as a hit (and as an L1 hit when it is L1's); `stale` when it
   * is served because the store could not validate it (within its grace). Early refresh, which needs the
   * call's job, is the caller's: a plain hit builds no job.
   */
  #nearHit(
    cache: CacheContext,
    near: NearTier,
    logical: string,
    call: Pick<CallOptions, "onResult"> | undefined,
    entry: Entry,
    stale: boolean,
  ): unknown {
    const started = cache.settings.debug || cache.diagnostics.events.active ? performance.now() : 0;
    // A value the schema rejects, or checks asynchronously, is looked up in the store (which validates it).
    const value = this.#serving.valueNow(cache, entry);
    if (value === NOTHING) return NOTHING;
    const l1 = near.name === "l1" ? "l1" : undefined;
    if (l1) cache.metrics.count(stale ? "cache.l1.stale" : "cache.l1.hit", this.#what);
    this.#serving.served(cache, logical, call?.onResult, entry, started, stale ? "STALE" : "HIT", l1);
    return value;
  }

  async #lookup(job: Job<A>): Promise<R> {
    const { cache, keys } = job;
    const started = performance.now();
    let raws = job.peeked;
    const mark = cache.invalidation.mark; // a peek is synchronous: no delete lands during it
    const { budget } = job;
    if (!raws) {
      try {
        // Shared with the lookups of this tick; a call that already spent part of its deadline waits the rest.
        raws = await (budget ? cache.reads.readWithin(keys, budget) : cache.reads.read(keys));
      } catch { /* reported by run(), or skipped by the open breaker; served from the loader below */ }
    }
    let cause = raws ? "cache_miss" : "cache_unavailable";
    const raw = raws?.[0];
    if (raws && raw && isLoadingMarker(raw)) cause = "loading";
    else if (raws && raw) {
      const entry = cache.store.capabilities.inProcess ? decodeEntry(raw) : this.#keys.decode(job.plan, raw);
      const { validity, pending, added } = await entryValidity(cache, entry, keys, raws, mark, budget);
      const now = cache.settings.clock.now();
      // With grace; a softly invalidated entry is served stale once per refresh (later callers join it).
      const judged = verdict(entry, validity, pending, now, true, cache.inflight.has(keys[0]));
      const servable = judged === "fresh" || judged === "stale";
      let value = servable ? this.#serving.valueOf(cache, entry!) : NOTHING;
      let rejected = false;
      const schema = this.#serving.schema;
      if (schema !== undefined && value !== NOTHING && !entry!.negative) {
        value = await validStored(cache, schema, value, this.#what, job.logical);
        rejected = value === NOTHING;
      }
      if (value !== NOTHING) {
        if (judged === "stale") return await this.#refresh.serveStale(job, entry!, value as R, raws, started);
        this.#serving.served(cache, job.logical, job.onResult, entry!, started, "HIT");
        job.near.keep(added ? [...keys, ...added] : keys, raw, job.since);
        if (this.#refresh.due(entry!, now, cache)) this.#refresh.start(job, raws, "early");
        return value as R;
      }
      // A servable entry whose value cannot be revived is as unreadable as one that did not decode.
      cause = rejected ? "schema_rejected" : servable || judged === "corrupt"
        ? "corrupt" // its load's claim reports it, and deletes it or writes over it
        : judged;
    }
    if (raws) this.#serving.missed(cache, job.logical, started);
    // The call's backend time is shared: what the read took is gone from it.
    job.budget = budget ??
      new Budget(cache.settings.deadlineMs - (job.peeked ? 0 : performance.now() - started));
    job.startedAt = started;
    const shared = cache.inflight.get(keys[0]);
    const loading = shared?.admits(raws, started)
      ? this.#bounded(job, shared, true)
      : this.#bounded(job, this.#loads.start(job, raws, cause), false);
    return raws ? loading : this.#failSafe(job, loading, started);
  }

  /**
   * With the store out of reach the loader answers, so that an invalidation acknowledged elsewhere is honoured;
   * only when it fails too (not when it is only slow: `hardTimeoutMs`) is what the near tier holds apart from
   * the store served, within its grace (stale), rather than the error. The call counts as a miss, or as that
   * stale hit: never as both.
   */
  async #failSafe(job: Job<A>, loading: Promise<R>, started: number): Promise<R> {
    try {
      const value = await loading;
      this.#serving.missed(job.cache, job.logical, started);
      return value;
    } catch (error) {
      const kept = error instanceof CacheTimeoutError
        ? undefined
        : job.near.graced(job.keys, job.cache.settings.clock.now());
      const value = kept ? this.#nearHit(job.cache, job.near, job.logical, job, kept, true) : NOTHING;
      if (value === NOTHING) {
        this.#serving.missed(job.cache, job.logical, started);
        throw error;
      }
      return value as R;
    }
  }

  /** Waits for a load, within `hardTimeoutMs` when set; a caller who joined gets its own copy. */
  #bounded(job: Job<A>, flight: Flight, joined: boolean): Promise<R> {
    return waitForLoad(job, flight, joined, this.#serving, this.#options.hardTimeoutMs);
  }
}
