/**
 * The engine behind `cacheRead`: the hit path (one batch read of the entry and its tag versions), misses
 * coalesced per process and optionally locked per cluster, refresh-ahead (fixed or XFetch), the grace window
 * (stale-while-revalidate, stale-if-error) and load time bounds.
 *
 * @module
 */

import type { CacheContext, InvalidationResult } from "./context.ts";
import type { Flight } from "./flight.ts";
import { Budget } from "./deadline.ts";
import { settledWithin } from "./timers.ts";
import type { CompiledTemplate } from "./keys.ts";
import type { CompiledTags } from "./tags.ts";
import { peekRemembered, ReadKeys, type ReadPlan } from "./read_keys.ts";
import { decodeEntry, type Entry, isLoadingMarker, sharedEntry } from "./entry.ts";
import type { CacheStore, Derivation } from "./store.ts";
import { NOTHING, readValue } from "./entry_value.ts";
import { compareVersions } from "./versions.ts";
import { isFresh, verdict } from "./verdict.ts";
import {
  CALL_OPTION_NAMES,
  type CallOptions,
  type Loader,
  type ReadOptions,
  type ReadResult,
} from "./read_options.ts";
import { checkOptionNames } from "./option_names.ts";
import { xfetchDue } from "./xfetch.ts";
import { CacheTimeoutError, StoreError } from "./errors.ts";
import type { Job } from "./read_job.ts";
import type { WaitUntil } from "./wait_until.ts";
import { LoadRunner } from "./load_runner.ts";
import { describeIssues, type StandardSchemaV1, validateLoaded, validateStored, validNow } from "./schema.ts";
import type { LoadResult } from "./flight.ts";
import { LoadContext } from "./loader_context.ts";
import { entryValidity } from "./added_tags.ts";
import { isNegativeCacheResult } from "./negative.ts";

/** A peek that found no fresh value: what it read, for the lookup to continue from. */
class Peeked {
  constructor(readonly raws: (string | null)[]) {}
}
const DEFAULT_REFRESH_BACKOFF_MS = 10_000;
/**
 * Keys whose failed refresh a cache remembers. Forgetting one early only lets its refresh be retried sooner,
 * so the bound costs nothing but keeps a failing source from growing the map without end.
 */
const BACKOFF_KEYS = 10_000;

/** Reads, loads and refreshes the entries of one cached function. */
export class Reader<A, R> {
  readonly #what: string;
  readonly #options: ReadOptions<string, A>;
  readonly #fn: Loader<A, R>;
  /** The cache this function reads: the default one (resolved per call, so `initCache` may come later). */
  readonly #resolve: () => CacheContext;
  /** Which keys a call reads: its entry key and its dependencies. */
  readonly #keys: ReadKeys<A>;
  readonly #loads: LoadRunner<A>;
  /** The `schema` option: checked on every hit path only when set. */
  readonly #schema: StandardSchemaV1 | undefined;

  constructor(
    what: string,
    keyTemplate: CompiledTemplate | undefined,
    options: ReadOptions<string, A>,
    tags: CompiledTags<A>,
    fn: Loader<A, R>,
    resolve: () => CacheContext,
  ) {
    this.#resolve = resolve;
    this.#what = what;
    this.#options = options;
    this.#fn = fn;
    this.#keys = new ReadKeys(what, keyTemplate, options.key, tags);
    this.#loads = new LoadRunner(what, options, fn);
    this.#schema = options.schema;
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
        checkOptionNames(call, CALL_OPTION_NAMES, `Cannot call ${this.#what}`);
        // Resolved up front, so that a waitUntil which cannot work fails every call, not the first refresh.
        if (call.waitUntil !== undefined) waitUntil = cache.waitUntilOf(call.waitUntil);
      }
      const ttl = cache.ttlSeconds(this.#options.ttl);
      if (ttl === 0) {
        cache.metrics.count("cache.skip", this.#what);
        const ctx = new LoadContext(this.#what); // nothing is replaced: no stale entry
        const loaded = Promise.resolve(Reflect.apply(this.#fn, thisArg, [arg, ctx])).then(
          (value) => ctx.settle(value) as R,
          (error) => (ctx.fail(), Promise.reject(error)),
        );
        const schema = this.#schema;
        return schema ? loaded.then((value) => validateLoaded(schema, value, this.#what) as R) : loaded;
      }
      const plan = this.#keys.plan(cache, arg);
      const { logical, keys, pending } = plan;
      const l1 = this.#options.l1 === false ? undefined : cache.l1;
      const since = l1 ? cache.settings.clock.now() : 0; // only L1 dates entries by it: no clock read otherwise
      let peeked: (string | null)[] | undefined;
      if (!pending && !call?.force && cache.store.peek) {
        // In-process store: a fresh hit is served synchronously, with no promise round through the store.
        const hit = this.#peekHit(cache, plan, thisArg, arg, ttl, call, waitUntil);
        if (!(hit instanceof Peeked)) return answer(Promise.resolve(hit as R), call);
        peeked = hit.raws;
      }
      const near = l1 && !pending && !call?.force ? l1.lookup(keys as string[], since, plan) : undefined;
      const fresh = near?.state === "fresh" ? near.entry : undefined;
      const nearValue = fresh ? this.#nearHit(cache, logical, call, fresh, false) : NOTHING;
      // A plain L1 hit returns before the call's job (and its closures) exist: only a refresh or a miss needs it.
      const refresh = nearValue !== NOTHING && this.#refreshDue(fresh!, since, cache);
      if (nearValue !== NOTHING && !refresh) return answer(Promise.resolve(nearValue as R), call);
      const jobFor = (resolved: readonly string[], budget?: Budget): Job<A> => ({
        cache,
        thisArg,
        arg,
        logical,
        keys: resolved,
        plan,
        ttl,
        waitUntil,
        onResult: call?.onResult,
        peeked,
        l1,
        since,
        budget,
      });
      const start = (resolved: readonly string[], budget?: Budget) => {
        const job = jobFor(resolved, budget);
        if (!call?.force) return this.#lookup(job);
        job.budget = new Budget(cache.settings.deadlineMs);
        return this.#bounded(job, this.#loads.start(job, undefined, "forced"), false);
      };
      let result: Promise<R>;
      if (refresh) {
        this.#refreshInBackground(jobFor(keys as string[]), undefined, "early");
        result = Promise.resolve(nearValue as R);
      } else if (fresh) result = start(keys as string[]); // its value could not be revived
      else if (near?.state === "due") {
        // The validation is the call's first store request: what it took is gone from the call's deadline.
        const budget = new Budget(cache.settings.deadlineMs);
        const validating = performance.now();
        result = near.validation.then((entry) => {
          budget.spend(performance.now() - validating);
          if (entry === undefined) return start(keys as string[], budget);
          const kept = entry === "unavailable"
            ? l1!.graced(keys as string[], cache.settings.clock.now())
            : entry;
          const stale = entry !== kept;
          const value = kept ? this.#nearHit(cache, logical, call, kept, stale) : NOTHING;
          if (value === NOTHING) return start(keys as string[], budget);
          const now = cache.settings.clock.now();
          if (!stale && this.#refreshDue(kept!, now, cache)) {
            this.#refreshInBackground({ ...jobFor(keys as string[]), since: now }, undefined, "early");
          }
          return value as R;
        });
      } else result = pending ? Promise.all(keys).then(start) : start(keys as string[]);
      return answer(result, call);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Removes one argument's entry; resolves when delivered or queued (like tag invalidation). */
  async invalidate(arg: A): Promise<InvalidationResult> {
    const cache = this.#resolve();
    return await cache.invalidateEntries([await cache.entryKey(this.logicalKey(arg))]);
  }

  /** A fresh, valid entry's value from an in-process store, or what was read (the async path then handles it). */
  #peekHit(
    cache: CacheContext,
    plan: ReadPlan,
    thisArg: unknown,
    arg: A,
    ttl: number,
    call: CallOptions | undefined,
    waitUntil: WaitUntil | undefined,
  ): unknown {
    const started = cache.settings.debug || cache.events.active ? performance.now() : 0;
    const { clock } = cache.settings;
    const now = clock.now();
    const store = cache.store;
    const storeNow = store.clock === clock ? now : undefined;
    const keys = plan.keys as string[], logical = plan.logical;
    let entry: Entry | undefined, raws: (string | null)[] | undefined;
    if (store.peekDerived) {
      // The decoded entry lives with the stored value (parsed once per write); callers get copies of it. The
      // slot it was found in last time is tried first: a hot key skips the store's key lookup.
      entry = peekRemembered(store, plan, keys[0], storeNow, sharedEntry);
    } else {
      raws = store.peek!(keys, storeNow);
      entry = raws[0] === null ? undefined : decodeEntry(raws[0]);
    }
    const valid = entry !== undefined &&
      (raws
        ? compareVersions(entry.versions, raws) === "valid"
        : heldVersionsMatch(store, entry.versions, keys, storeNow));
    // Only a fresh entry is served here: the lookup handles the others (grace, refresh, corrupt entries). A
    // peek is synchronous: no queued delete lands during it, so it needs no mark.
    if (!isFresh(entry, valid, cache.hasPendingInvalidation(keys), now)) {
      return new Peeked(raws ?? store.peek!(keys, storeNow));
    }
    let value = readValue(entry!, cache.codec, this.#options.zeroCopy);
    if (this.#schema !== undefined && value !== NOTHING && !entry!.negative) {
      value = validNow(this.#schema, value);
    }
    if (value === NOTHING) return new Peeked(raws ?? store.peek!(keys, storeNow));
    this.#served(cache, logical, call?.onResult, entry!, started, "HIT");
    if (this.#refreshDue(entry!, now, cache)) {
      const job = { cache, thisArg, arg, logical, keys, plan, ttl, waitUntil, since: now };
      this.#refreshInBackground(job, raws ?? store.peek!(keys, storeNow), "early");
    }
    return value;
  }

  /**
   * A hit from L1: the value (a copy), counted as a hit and as an L1 hit; `stale` when it is served because
   * the store could not validate it (within its grace). Early refresh, which needs the call's job, is the
   * caller's: a plain hit builds no job.
   */
  #nearHit(
    cache: CacheContext,
    logical: string,
    call: Pick<CallOptions, "onResult"> | undefined,
    entry: Entry,
    stale: boolean,
  ): unknown {
    const started = cache.settings.debug || cache.events.active ? performance.now() : 0;
    let value = readValue(entry, cache.codec, this.#options.zeroCopy);
    // A value the schema rejects, or checks asynchronously, is looked up in the store (which validates it).
    if (this.#schema !== undefined && value !== NOTHING && !entry.negative) {
      value = validNow(this.#schema, value);
    }
    if (value === NOTHING) return NOTHING;
    cache.metrics.count(stale ? "cache.l1.stale" : "cache.l1.hit", this.#what);
    this.#served(cache, logical, call?.onResult, entry, started, stale ? "STALE" : "HIT", "l1");
    return value;
  }

  async #lookup(job: Job<A>): Promise<R> {
    const { cache, keys } = job;
    const started = performance.now();
    let raws = job.peeked;
    const mark = cache.invalidationMark; // a peek is synchronous: no delete lands during it
    const { budget } = job;
    if (!raws) {
      try {
        // Shared with the lookups of this tick; a call that already spent part of its deadline waits the rest.
        raws = await (budget ? readWithin(cache, keys, budget) : cache.reads.read(keys));
      } catch { /* reported by run(), or skipped by the open breaker; served from the loader below */ }
    }
    if (!raws && job.l1) {
      // The store cannot be reached: what L1 holds is served within its grace.
      const kept = job.l1.graced(keys, cache.settings.clock.now());
      const value = kept ? this.#nearHit(cache, job.logical, job, kept, true) : NOTHING;
      if (value !== NOTHING) return value as R;
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
      let value = servable ? readValue(entry!, cache.codec, this.#options.zeroCopy) : NOTHING;
      let rejected = false;
      if (this.#schema !== undefined && value !== NOTHING && !entry!.negative) {
        const result = await validateStored(this.#schema, value);
        if (result.issues) {
          rejected = true;
          value = NOTHING;
          cache.metrics.count("cache.schema.rejected", this.#what);
          cache.warnEvery(
            `schema:${this.#what}`,
            `a stored value of ${this.#what} (key ${job.logical}) fails its schema (${
              describeIssues(result.issues)
            }): treated as a miss and loaded afresh`,
          );
        } else value = result.value;
      }
      if (value !== NOTHING) {
        if (judged === "stale") return await this.#serveStale(job, entry!, value as R, raws, started);
        this.#served(cache, job.logical, job.onResult, entry!, started, "HIT");
        job.l1?.keep(added ? [...keys, ...added] : keys, raw, job.since);
        if (this.#refreshDue(entry!, now, cache)) this.#refreshInBackground(job, raws, "early");
        return value as R;
      }
      // A servable entry whose value cannot be revived is as unreadable as one that did not decode.
      cause = rejected
        ? "schema_rejected"
        : servable || judged === "corrupt"
        ? await this.#corrupt(job, raws)
        : judged;
    }
    cache.metrics.count("cache.miss", this.#what);
    if (cache.observed) {
      cache.emit({
        type: "miss",
        key: job.logical,
        function: this.#what,
        durationMs: performance.now() - started,
      });
    }
    // The call's backend time is shared: what the read took is gone from it.
    job.budget = budget ??
      new Budget(cache.settings.deadlineMs - (job.peeked ? 0 : performance.now() - started));
    job.startedAt = started;
    const shared = cache.inflight.get(keys[0]);
    if (shared?.admits(raws, started)) return this.#bounded(job, shared, true);
    return this.#bounded(job, this.#loads.start(job, raws, cause), false);
  }

  /** Waits for a load, within `hardTimeoutMs` when set; a caller who joined gets its own copy. */
  #bounded(job: Job<A>, flight: Flight, joined: boolean): Promise<R> {
    const result = flight.promise.then((r) => {
      if (job.onResult) {
        const now = job.cache.settings.clock.now();
        // The stored entry's own expiry (jittered by smoothExpiry), so headers match what later hits say.
        job.onResult({ status: "miss", createdAt: now, freshUntil: r.freshUntil ?? now + job.ttl * 1000 });
      }
      return (joined ? this.#copyOf(r) : r.value) as R;
    });
    const limit = this.#options.hardTimeoutMs;
    if (limit === undefined) return result;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        job.cache.background(flight.promise, job.waitUntil); // the load goes on and stores its value
        // ...but later callers start their own: a load that never settles must not hold the key forever.
        if (job.cache.inflight.get(job.keys[0]) === flight) job.cache.inflight.delete(job.keys[0]);
        reject(new CacheTimeoutError(this.#what, limit));
      }, limit);
      result.then(
        (value) => (clearTimeout(timer), resolve(value)),
        (error) => (clearTimeout(timer), reject(error)),
      );
    });
  }

  #served(
    cache: CacheContext,
    logical: string,
    onResult: ((result: ReadResult) => void) | undefined,
    entry: Entry,
    started: number,
    kind: "HIT" | "STALE",
    tier?: "l1",
  ) {
    onResult?.({
      status: kind === "HIT" ? "hit" : "stale",
      createdAt: entry.createdAt,
      freshUntil: entry.freshUntil,
    });
    cache.metrics.count("cache.hit", this.#what);
    if (kind === "STALE") cache.metrics.count("cache.stale", this.#what);
    if (entry.negative) cache.metrics.count("cache.negative", this.#what);
    if (cache.observed) {
      cache.emit({
        type: kind === "HIT" ? "hit" : "stale",
        key: logical,
        function: this.#what,
        tier: tier ?? "l2",
        // Timed for listeners only: telemetry counts hits, and a clock read is a tenth of a memory hit.
        durationMs: cache.events.active ? performance.now() - started : undefined,
      });
    }
    if (cache.settings.debug) {
      cache.debug(
        `[${kind}] key=${logical} duration_ms=${(performance.now() - started).toFixed(1)}ms ttl=${entry.ttl}${
          tier ? ` tier=${tier}` : ""
        }`,
      );
    }
  }

  /** Early refresh: at `earlyTtl`, or at random as expiry nears (XFetch). */
  #refreshDue(entry: Entry, now: number, cache: CacheContext): boolean {
    if (now >= entry.refreshAt) return true;
    return this.#options.earlyRefresh === "probabilistic" &&
      xfetchDue(now, entry.freshUntil, entry.loadMs, this.#options.beta ?? 1, cache.settings.random);
  }

  /**
   * The grace window: the stale value is served while one refresh runs in the background; the caller waits
   * for that refresh at most `timeoutMs`. A failed refresh keeps the stale value and backs off.
   */
  async #serveStale(
    job: Job<A>,
    entry: Entry,
    stale: R,
    raws: (string | null)[],
    started: number,
  ): Promise<R> {
    this.#served(job.cache, job.logical, job.onResult, entry, started, "STALE");
    const running = job.cache.inflight.get(job.keys[0]);
    const flight = running
      ? (running.admits(raws, started) ? running : undefined)
      : this.#refreshInBackground(job, raws, "stale");
    const wait = this.#options.timeoutMs ?? 0;
    if (!flight || wait <= 0) return stale;
    const fresh = await settledWithin(flight.promise, wait);
    return fresh ? await this.#copyOf(fresh) as R : stale;
  }

  /** A joining caller's copy of a load's result: the schema's output, as the loader's caller got. */
  #copyOf(result: LoadResult): unknown {
    const copy = result.copy();
    const schema = this.#schema;
    return schema && !isNegativeCacheResult(copy) ? validateLoaded(schema, copy, this.#what) : copy;
  }

  /** Starts one background refresh of a key (none while one runs or while a failed one backs off). */
  #refreshInBackground(job: Job<A>, raws: (string | null)[] | undefined, why: string): Flight | undefined {
    const { cache, keys } = job;
    if (
      cache.inflight.has(keys[0]) || (cache.refreshBackoff.get(keys[0]) ?? 0) > cache.settings.clock.now()
    ) return;
    cache.metrics.count("cache.refresh", this.#what);
    cache.debug(`[REFRESH] key=${job.logical} cause=${why}`);
    // Off the caller's path: the refresh has a deadline budget of its own.
    const flight = this.#loads.start(
      { ...job, budget: new Budget(cache.settings.deadlineMs) },
      raws,
      `${why}_refresh`,
    );
    cache.background(
      flight.promise.then(() => void cache.refreshBackoff.delete(keys[0]), (error) => {
        if (cache.refreshBackoff.size >= BACKOFF_KEYS) {
          cache.refreshBackoff.delete(cache.refreshBackoff.keys().next().value!);
        }
        cache.refreshBackoff.set(
          keys[0],
          cache.settings.clock.now() + (this.#options.refreshBackoffMs ?? DEFAULT_REFRESH_BACKOFF_MS),
        );
        cache.metrics.count("cache.refresh.error", this.#what);
        cache.debug(`[REFRESH-ERROR] key=${job.logical} error=${(error as Error)?.message ?? error}`);
      }),
      job.waitUntil,
    );
    return flight;
  }

  /**
   * A stored value we cannot read: counted (never as an outage), deleted, then loaded afresh (`raws` then
   * records the key as empty, so the load claims it).
   */
  async #corrupt(job: Job<A>, raws: (string | null)[]): Promise<string> {
    const { cache, keys } = job;
    cache.reportError(
      `unreadable entry for ${this.#what} at key ${job.logical}: treated as a miss and deleted`,
    );
    try {
      await cache.run("delete", (signal) => cache.store.deleteMany([keys[0]], { signal }));
      raws[0] = null;
    } catch { /* reported by run(); the load claims nothing and does not store */ }
    return "corrupt";
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then((value) => {
      signal.removeEventListener("abort", onAbort);
      resolve(value);
    }, (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
  });
}

/** What the caller awaits: `result`, or sooner a rejection when the call's `signal` aborts. */
function answer<R>(result: Promise<R>, call: CallOptions | undefined): Promise<R> {
  return call?.signal ? abortable(result, call.signal) : result;
}

/** A tag version as stored: what the hit path compares an entry's versions with, without reading the entry as text. */
const asStored: Derivation<string> = (raw: string) => raw;

/** `true` when the versions `store` holds at `keys[1..]` are the entry's (`keys[0]` is the entry, not read). */
function heldVersionsMatch(
  store: CacheStore,
  versions: readonly string[],
  keys: readonly string[],
  now: number | undefined,
): boolean {
  if (versions.length !== keys.length - 1) return false;
  for (let i = 1; i < keys.length; i++) {
    if (store.peekDerived!(keys[i], now, asStored) !== versions[i - 1]) return false;
  }
  return true;
}

/** The tick's shared read, waited for only as long as the call's deadline has left. */
function readWithin(
  cache: CacheContext,
  keys: readonly string[],
  budget: Budget,
): Promise<(string | null)[]> {
  return budget.within(
    () => cache.reads.read(keys),
    () => new StoreError(cache.store.name, "read got no answer within what was left of the call's deadline"),
  );
}
