/**
 * The loads of one cached function: a miss claims its key, optionally takes a cluster-wide lock (others poll
 * for the value it stores), runs the loader and stores the value only where its claim still holds, in the
 * store and in L1 together.
 *
 * @module
 */

import { validateLoaded, validateStored } from "../read/schema.ts";
import { LoadContext } from "./loader_context.ts";
import { replacedEntry } from "./replaced_entry.ts";
import { type Claim, Flight, type Lifetime, type LoadResult } from "./flight.ts";
import { claim } from "./claim.ts";
import type { Budget } from "../engine/deadline.ts";
import type { CacheContext } from "../engine/context.ts";
import { decodeEntry, hasAddedTags, isLoadingMarker } from "../entry/entry.ts";
import { encodeLoaded, loadResult, storeLoaded } from "./loaded.ts";
import type { Encoded } from "../entry/codec.ts";
import { NOTHING, readValue } from "../entry/value.ts";
import { verdict } from "../entry/verdict.ts";
import { isNegativeCacheResult } from "../entry/negative.ts";
import type { Loader, LockOptions, ReadOptions } from "../read/options.ts";
import { releaseLock, tryLock } from "./lock.ts";
import { runLoader } from "./run_loader.ts";
import {
  entryValidity,
  loadAddedKeys,
  mustLoadAgain,
  priorAddedKeys,
  storedDependencies,
} from "./added_tags.ts";
import type { Job } from "./job.ts";

const DEFAULT_LOCK_TTL_MS = 10_000;
const DEFAULT_LOCK_POLL_MS = 50;

/** Starts, locks and stores the loads of one cached function. */
export class LoadRunner<A> {
  readonly #what: string;
  readonly #supersede: boolean;
  readonly #options: ReadOptions<string, A>;
  readonly #fn: Loader<A, unknown>;

  /**
   * `supersede`: forced loads replace what they find, since their value is newer than any load in flight
   * (`set`: see `ClaimRequest.supersede`).
   */
  constructor(what: string, options: ReadOptions<string, A>, fn: Loader<A, unknown>, supersede = false) {
    this.#supersede = supersede;
    this.#what = what;
    this.#options = options;
    this.#fn = fn;
  }

  /** Starts a load and registers it so that concurrent callers of the key share it. */
  start(job: Job<A>, observed: readonly (string | null)[] | undefined, cause: string): Flight {
    const { cache, keys } = job;
    const flight = new Flight(keys.slice(1));
    flight.promise = this.#lockedLoad(job, flight, observed, cause);
    cache.inflight.add(keys[0], flight);
    return flight;
  }

  #lock(cache: CacheContext): LockOptions | undefined {
    const lock = this.#options.lock ?? cache.settings.lock;
    return lock === true ? {} : lock || undefined;
  }

  /**
   * With a lock, one process of the cluster loads: the others poll for the value it stores, and load
   * themselves only when the lock's ttl passes (a holder that died), the lock is released without a value
   * (a holder whose load failed), or this call's backend time is spent (a hung store: no waiting on it).
   */
  async #lockedLoad(
    job: Job<A>,
    flight: Flight,
    observed: readonly (string | null)[] | undefined,
    cause: string,
  ): Promise<LoadResult> {
    const lock = this.#lock(job.cache);
    if (!lock) return this.#load(job, flight, observed, cause);
    const { cache, keys } = job;
    const budget = job.budget!;
    const lockKey = cache.keys.lockKey(keys[0]);
    const ttlMs = lock.ttlMs ?? DEFAULT_LOCK_TTL_MS;
    const since = cache.settings.clock.now();
    let waited = false;
    for (;;) {
      const held = await tryLock(cache, lockKey, ttlMs, budget);
      if (held !== undefined) {
        try {
          // A holder may have stored and released between our last look and this lock: look again first.
          const stored = waited && held !== "unavailable"
            ? await this.#storedFor(job, flight, budget)
            : undefined;
          return stored ?? await this.#load(job, flight, waited ? undefined : observed, cause);
        } finally {
          if (held !== "unavailable") cache.work.add(releaseLock(cache, held));
        }
      }
      if (!waited) {
        waited = true;
        cache.metrics.count("cache.lock.wait", this.#what);
        cache.diagnostics.debug(`[LOCK-WAIT] key=${job.logical}`);
      }
      await new Promise((resolve) => setTimeout(resolve, lock.pollMs ?? DEFAULT_LOCK_POLL_MS));
      const stored = await this.#storedFor(job, flight, budget);
      if (stored) return stored;
      const spent = budget.remainingMs <= 0;
      if (spent || cache.settings.clock.now() - since >= ttlMs) {
        cache.metrics.count("cache.lock.timeout", this.#what);
        cache.diagnostics.debug(
          `[LOCK-TIMEOUT] key=${job.logical} waited_ms=${cache.settings.clock.now() - since}`,
        );
        return this.#load(job, flight, undefined, spent ? "lock_unavailable" : "lock_timeout");
      }
    }
  }

  /**
   * The entry another process stored, if it is fresh and valid and may settle `flight`: no caller joined after
   * the read was issued (one who did may have seen a newer state than this read).
   */
  async #storedFor(job: Job<A>, flight: Flight, budget: Budget): Promise<LoadResult | undefined> {
    const issued = performance.now();
    const stored = await this.#peekFresh(job, budget);
    return stored && flight.answers(issued) ? stored : undefined;
  }

  /** The entry, if another process has stored a fresh, valid one. */
  async #peekFresh(job: Job<A>, budget: Budget): Promise<LoadResult | undefined> {
    const { cache, keys } = job;
    const mark = cache.invalidation.mark;
    try {
      const raws = await cache.guarded.run("read", (signal) => cache.store.getMany(keys, { signal }), budget);
      const raw = raws[0];
      if (!raw || isLoadingMarker(raw)) return;
      const entry = decodeEntry(raw);
      const { validity, pending } = await entryValidity(cache, entry, keys, raws, mark, budget);
      // Fresh only: the value settles a load that callers joined to get a fresh one.
      const judged = verdict(entry, validity, pending, cache.settings.clock.now(), false, false);
      if (judged !== "fresh") return;
      let value = readValue(entry!, cache.codec, this.#options.zeroCopy);
      if (value === NOTHING) return;
      const schema = this.#options.schema;
      if (schema && !entry!.negative) {
        const result = await validateStored(schema, value);
        if (result.issues) return; // loaded afresh, which validates it
        value = result.value;
      }
      return { value, copy: () => readValue(decodeEntry(raw!)!, cache.codec, this.#options.zeroCopy) };
    } catch {
      return undefined;
    }
  }

  /**
   * Claims the key (see `claim.ts`), runs the loader, and stores its value only where the claim still holds:
   * the write is conditional on the claimed guard, so an invalidation made meanwhile wins. The claim also
   * reads the versions of the tags `prior` loads added (see `added_tags.ts`).
   */
  async #load(
    job: Job<A>,
    flight: Flight,
    observed: readonly (string | null)[] | undefined,
    cause: string,
    prior = priorAddedKeys(job.cache, job.keys, observed),
    again = false,
  ): Promise<LoadResult> {
    const { cache, keys } = job;
    const { clock } = cache.settings;
    let claimed = await claim(
      cache,
      prior.length === 0 ? keys : [...keys, ...prior],
      observed,
      job.ttl,
      job.budget!,
      this.#what,
      // An unusable entry is reported once, by the first claim.
      { unusable: cause === "corrupt" && !again, supersede: cause === "forced" && this.#supersede },
    );
    if (
      claimed.found !== undefined && hasAddedTags(claimed.found) && prior.length === 0 && claimed.versions
    ) {
      // A load whose caller read nothing (forced, or after waiting for a lock) learns the added tags from what
      // its claim found, and reads their versions too before it runs.
      const found = [claimed.found, ...claimed.versions];
      prior = priorAddedKeys(cache, keys, found);
      if (prior.length > 0) {
        claimed = await claim(cache, [...keys, ...prior], found, job.ttl, job.budget!, this.#what);
      }
    }
    flight.loading(claimed);
    const loadStarted = clock.now();
    const ctx = new LoadContext(this.#what, () => replacedEntry(cache, keys, observed, prior, claimed));
    let loaded;
    try {
      loaded = await runLoader(
        cache,
        this.#what,
        { key: job.logical },
        () => Reflect.apply(this.#fn, job.thisArg, [job.arg, ctx]),
      );
    } catch (error) {
      ctx.fail();
      throw error;
    }
    const { durationMs } = loaded;
    const value = ctx.settle(loaded.value);
    const adding = loadAddedKeys(cache, keys, ctx, prior);
    const added = adding instanceof Promise ? await adding : adding;
    // Those who joined already get a second load's value (as does every caller): see `mustLoadAgain`.
    if (mustLoadAgain(added, prior, flight) && !again) {
      return this.#load(job, flight, undefined, cause, added, true);
    }
    const loadMs = Math.max(0, clock.now() - loadStarted);
    cache.metrics.count("cache.load", this.#what);
    cache.metrics.time("cache.load.ms", durationMs, this.#what);
    const negative = isNegativeCacheResult(value);
    const ttl = ctx.ttl ?? (negative ? value.ttl : job.ttl);
    // What the loader returned is stored, the schema's output returned: hits check the stored value the same way.
    const schema = this.#options.schema;
    const output = schema && !negative ? await validateLoaded(schema, value, this.#what) : value;
    if (cache.settings.debug) {
      // The whole call (reads, claim, load), not only the loader: what the caller waited for.
      const callMs = job.startedAt === undefined ? durationMs : performance.now() - job.startedAt;
      cache.diagnostics.debug(
        `[MISS] key=${job.logical} duration_ms=${callMs.toFixed(1)}ms ttl=${ttl} cause=${cause}`,
      );
    }
    const encoded = encodeLoaded(cache, this.#what, negative ? value.value : value);
    if (!encoded) return loadResult(cache, output, undefined, negative, ttl);
    const stored = ttl > 0 && !ctx.skipped && !flight.dropped
      ? await this.#store(
        job,
        claimed,
        prior,
        added,
        encoded,
        negative,
        ttl,
        loadMs,
        ctx.etag,
        ctx.kept ? observed?.[0] ?? undefined : undefined,
      )
      : undefined;
    return loadResult(cache, output, encoded, negative, ttl, stored);
  }

  /**
   * Stores a load's entry; `added`: the keys of the tags it added, `prior`: those read before the load, `kept`:
   * the entry read before the load, when its value was kept (`ctx.notModified()`, whose `ctx.stale` it is).
   */
  async #store(
    job: Job<A>,
    claimed: Claim,
    prior: readonly string[],
    added: readonly string[],
    encoded: Encoded,
    negative: boolean,
    ttl: number,
    loadMs: number,
    etag: string | undefined,
    kept: string | undefined,
  ): Promise<Lifetime | undefined> {
    const { keys, claim, servable, withAdded } = storedDependencies(job.keys, claimed, prior, added);
    const item = { keys, claim, encoded, negative, ttl, loadMs, etag, added: withAdded, kept, servable };
    const [stored] = await storeLoaded(
      job.cache,
      this.#what,
      this.#options,
      [item],
      job.budget,
      job.near,
      job.since,
    );
    return stored;
  }
}
