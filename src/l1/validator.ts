/**
 * L1's validations: an entry's token and dependency versions read back from the store. A caller waiting on a
 * due entry shares the tick's request, which also carries the oldest-validated others nearing the bound (so a
 * caller reading many entries after a pause waits once per batch); entries nearing the bound while hit are
 * revalidated in the background, gathered into one request for a while.
 *
 * @module
 */

import type { CacheStore } from "../store/store.ts";
import type { Clock } from "../base/clock.ts";
import type { MetricsRegistry } from "../observe/metrics.ts";
import type { MemoryStore } from "../store/memory_store.ts";
import { compareVersions } from "../entry/versions.ts";
import { verdict } from "../entry/verdict.ts";
import { type BatchCache, type BatchRead, ReadBatch } from "../engine/read_batch.ts";
import type { InvalidationLog } from "./invalidation_log.ts";
import { AgingQueue } from "./aging_queue.ts";
import type { Kept, Validated } from "./kept.ts";
import type { L1Settings } from "./options.ts";

/** Share of `maxStaleMs` after which a hit served from L1 starts a background validation of its entry. */
export const EARLY_VALIDATION = 0.75;

/** Most entries revalidated along with one that was due: a request's worth, whatever `maxEntries` is. */
const SWEEP_ENTRIES = 256;

/** Characters of each value a validation reads: an entry's head through its token, or a whole version. */
const HEAD_LENGTH = 64;

/**
 * What an L1 needs from its cache (the cache's context, declared here so L1 sits below it): the store and its
 * guarded calls, the clock, metrics and debug log, and the invalidations this process has not delivered yet.
 */
export interface L1Host {
  readonly store: CacheStore;
  /** The store's guarded calls, which L1's validations share. */
  readonly guarded: BatchCache;
  readonly settings: { readonly clock: Clock };
  readonly metrics: Pick<MetricsRegistry, "count">;
  readonly keys: { readonly namespace: string; readonly invalidationChannel: string };
  readonly diagnostics: { debug(line: string): void };
  readonly invalidation: { isPending(keys: readonly string[]): boolean };
}

/** Validates one L1's entries against its cache's store. */
export class Validator {
  readonly #cache: L1Host;
  readonly #settings: L1Settings;
  readonly #held: MemoryStore;
  readonly #log: InvalidationLog;
  readonly #aging: AgingQueue<Kept>;
  readonly #urgent: ReadBatch;
  readonly #gathered: ReadBatch;

  /** `held` is where L1 keeps its entries; `log` its own invalidations. */
  constructor(cache: L1Host, settings: L1Settings, held: MemoryStore, log: InvalidationLog) {
    this.#cache = cache;
    this.#settings = settings;
    this.#held = held;
    this.#log = log;
    this.#aging = new AgingQueue<Kept>(
      settings.maxEntries,
      (key, kept, validatedAt) => kept.validatedAt === validatedAt && held.derivedAt(key) === kept,
    );
    // A Redis or Upstash store reads only heads and versions.
    const store = cache.store;
    const heads: BatchRead = store.getHeads
      ? (keys, signal) => store.getHeads!(keys, HEAD_LENGTH, { signal })
      : (keys, signal) => store.getMany(keys, { signal });
    this.#urgent = new ReadBatch(cache.guarded, heads, "validate");
    this.#gathered = new ReadBatch(
      cache.guarded,
      heads,
      "validate",
      settings.maxStaleMs * (1 - EARLY_VALIDATION) / 5,
    );
  }

  /** Records that the entry at `key` was vouched for as of `validatedAt`. */
  dated(key: string, kept: Kept, validatedAt: number): void {
    kept.validatedAt = validatedAt;
    this.#aging.push(key, kept, validatedAt);
  }

  /** A hit nearing the bound: revalidated in the background unless a validation is in flight. */
  early(keys: readonly string[], kept: Kept, now: number): void {
    if (!kept.validation) this.#start(keys, kept, now, this.#gathered);
  }

  /** A due entry: validated in this tick's request (joining one in flight issued within the bound). */
  due(keys: readonly string[], kept: Kept, now: number): Promise<Validated> {
    const running = kept.validation;
    const joinable = running?.batch === this.#urgent && running.issuedAt > now - this.#settings.maxStaleMs;
    const validation = joinable ? running.promise : this.#start(keys, kept, now, this.#urgent);
    const aged = this.#aging.takeOlder(now - this.#settings.maxStaleMs * EARLY_VALIDATION, SWEEP_ENTRIES);
    for (const other of aged) {
      if (!other.kept.validation && other.kept.keys.length > 0) {
        this.#start(other.kept.keys, other.kept, now, this.#urgent);
      }
    }
    return validation;
  }

  #start(keys: readonly string[], kept: Kept, now: number, batch: ReadBatch): Promise<Validated> {
    this.#cache.metrics.count("cache.l1.validate");
    const promise = this.#validate(keys, kept, now, batch);
    const validation = { promise, issuedAt: now, batch };
    kept.validation = validation;
    promise.finally(() => {
      if (kept.validation === validation) kept.validation = undefined;
    });
    return promise;
  }

  /** One validation: the entry's token and its versions, as the store holds them now. */
  async #validate(
    keys: readonly string[],
    kept: Kept,
    issuedAt: number,
    batch: ReadBatch,
  ): Promise<Validated> {
    let heads: (string | null)[];
    try {
      heads = await batch.read(keys);
    } catch {
      return "unavailable"; // reported by run()
    }
    const head = heads[0];
    // Another write's token at the entry key (or none) is as good as another version; an invalidation made
    // here since the validation was issued is pending for it. Fresh only, as of that issue (the lookup found
    // it fresh then): a softly invalidated entry leaves L1, and the store's grace serves it.
    const versions = head !== null && head.startsWith(kept.guard)
      ? compareVersions(kept.entry.versions, heads)
      : "invalid";
    const pending = this.#log.since(keys, issuedAt);
    if (verdict(kept.entry, versions, pending, issuedAt, false, false) !== "fresh") {
      this.#held.deleteMany([keys[0]]);
      this.#cache.diagnostics.debug(`[L1-INVALID] key=${keys[0].slice(this.#cache.keys.namespace.length)}`);
      return undefined;
    }
    if (issuedAt > kept.validatedAt) this.dated(keys[0], kept, issuedAt);
    return kept.entry;
  }
}
