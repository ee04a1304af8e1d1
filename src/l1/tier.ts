/**
 * The two-level cache's first level: decoded entries of a remote store kept in process memory, each with the
 * time it was last known to be valid. A hit younger than `maxStaleMs` costs no request; an older one is
 * validated (its entry token and dependency versions, read for every due entry of the tick in one batch).
 * Invalidations made in this process apply at once. Loaded only when `l1` is configured.
 *
 * The bound: an entry is served from L1 only while its last validation (the moment the read that vouched for
 * it was issued, or earlier) is younger than `maxStaleMs`, so a read that starts more than `maxStaleMs` after
 * an invalidation was acknowledged anywhere cannot get the old value.
 *
 * @module
 */

import type { CacheContext } from "../context.ts";
import { decodeEntry, type Entry, writeGuard } from "../entry.ts";
import { type MemoryStore, memoryStore } from "../memory_store.ts";
import { compareVersions } from "../versions.ts";
import { type BatchRead, ReadBatch } from "../read_batch.ts";
import { InvalidationLog } from "./invalidation_log.ts";
import { AgingQueue } from "./aging_queue.ts";
import type { L1Settings } from "./options.ts";
export { l1Settings } from "./options.ts";

/** What L1 keeps per entry key (derived once per stored value). */
interface Kept {
  readonly entry: Entry;
  /** The entry's head up to its token: a validation compares it with what the store holds. */
  readonly guard: string;
  /** The keys it was validated with (entry, then dependencies). */
  keys: readonly string[];
  /** Before this moment (the cache's clock) nothing had invalidated it. */
  validatedAt: number;
  /** The validation in flight, if any: when it was issued, and through which batch. */
  validation?: {
    readonly promise: Promise<Entry | "unavailable" | undefined>;
    readonly issuedAt: number;
    readonly batch: ReadBatch;
  };
}

/** What {@linkcode L1Tier.lookup} found. */
export type L1Lookup =
  | { readonly state: "fresh"; readonly entry: Entry }
  | { readonly state: "due"; readonly validation: Promise<Entry | "unavailable" | undefined> }
  | undefined;

/** One cache's L1. */
export class L1Tier {
  readonly settings: L1Settings;
  readonly #cache: CacheContext;
  readonly #store: MemoryStore;
  readonly #aging: AgingQueue<Kept>;
  readonly #log: InvalidationLog;
  readonly #validations: ReadBatch;
  readonly #revalidations: ReadBatch;
  /** The push subscription, while one is open. */
  #push?: Promise<{ close(): Promise<void> } | undefined>;

  constructor(cache: CacheContext, settings: L1Settings) {
    this.#cache = cache;
    this.settings = settings;
    const clock = cache.settings.clock;
    this.#store = memoryStore({ maxEntries: settings.maxEntries, maxBytes: settings.maxBytes, clock });
    this.#log = new InvalidationLog(settings.maxStaleMs, settings.maxEntries);
    this.#aging = new AgingQueue<Kept>(
      settings.maxEntries,
      (key, kept, validatedAt) => kept.validatedAt === validatedAt && this.#store.derivedAt(key) === kept,
    );
    // Validations of one tick travel as one request; a Redis store reads only heads and versions.
    const store = cache.store;
    const heads: BatchRead = store.getHeads
      ? (keys, signal) => store.getHeads!(keys, HEAD_LENGTH, { signal })
      : (keys, signal) => store.getMany(keys, { signal });
    this.#validations = new ReadBatch(cache, heads, "validate");
    // Background revalidations are not waited on: they gather for a while, one request for many entries.
    const gatherMs = settings.maxStaleMs * (1 - EARLY_VALIDATION) / 5;
    this.#revalidations = new ReadBatch(cache, heads, "validate", gatherMs);
    // Push, where the store has it: other instances' invalidations arrive sooner than the bound.
    const unavailable = () => void cache.metrics.count("cache.l1.push.unavailable");
    this.#push = store.subscribe?.(
      cache.invalidationChannel,
      (keys) => this.#pushed(keys),
      (connected) => connected || unavailable(),
    ).catch(() => void unavailable());
  }

  /** Another instance invalidated `keys`: forgotten here, and entries vouched for before are refused. */
  #pushed(keys: readonly string[]): void {
    this.#cache.metrics.count("cache.l1.push", undefined, keys.length);
    this.#cache.debug(`[L1-PUSH] keys=${keys.length}`);
    this.forget(keys);
  }

  /** Settles once the push subscription is open (or could not be). */
  get pushReady(): Promise<unknown> {
    return this.#push ?? Promise.resolve();
  }

  /** Entries held. */
  get size(): number {
    return this.#store.size;
  }

  /** The L1 state of a call's `keys` (entry key, then dependency keys) at `now`. */
  lookup(keys: readonly string[], now: number): L1Lookup {
    const kept = this.#kept(keys[0], now);
    if (!kept) return undefined;
    if (now >= kept.entry.freshUntil || !sameKeys(kept.keys, keys) || this.#suspect(kept, keys)) {
      return undefined;
    }
    const { maxStaleMs } = this.settings;
    const age = now - kept.validatedAt;
    if (age < maxStaleMs) {
      // Nearing the bound: revalidated in the background, so an entry hit steadily never makes a caller wait.
      if (age >= maxStaleMs * EARLY_VALIDATION && !kept.validation) {
        this.#startValidation(keys, kept, now, false);
      }
      return { state: "fresh", entry: kept.entry };
    }
    // A validation in flight answers for this read if it is not gathering and was issued within the bound.
    const running = kept.validation;
    const joinable = running?.batch === this.#validations && running.issuedAt > now - maxStaleMs;
    const validation = joinable ? running.promise : this.#startValidation(keys, kept, now, true);
    this.#revalidateOldest(now);
    return { state: "due", validation };
  }

  /**
   * One entry was due: the oldest-validated others nearing the bound join its request, so a caller reading many
   * entries in turn after a pause waits once per batch of them, not once per entry.
   */
  #revalidateOldest(now: number): void {
    const aged = this.#aging.takeOlder(now - this.settings.maxStaleMs * EARLY_VALIDATION, SWEEP_ENTRIES);
    for (const { kept } of aged) {
      if (!kept.validation && kept.keys.length > 0) this.#startValidation(kept.keys, kept, now, true);
    }
  }

  /** Validates the entry: in this tick's batch (`urgent`: a caller waits), or gathered with other revalidations. */
  #startValidation(
    keys: readonly string[],
    kept: Kept,
    now: number,
    urgent: boolean,
  ): Promise<Entry | "unavailable" | undefined> {
    this.#cache.metrics.count("cache.l1.validate");
    const batch = urgent ? this.#validations : this.#revalidations;
    const promise = this.#validate(keys, kept, now, batch);
    const validation = { promise, issuedAt: now, batch };
    kept.validation = validation;
    promise.finally(() => {
      if (kept.validation === validation) kept.validation = undefined;
    });
    return promise;
  }

  /**
   * The entry at `keys` if L1 may serve it: fresh, or once the store has validated it (due entries of a tick
   * share one request). `undefined` sends the caller to the store.
   */
  async entry(keys: readonly string[], now: number): Promise<Entry | undefined> {
    const found = this.lookup(keys, now);
    if (found?.state !== "due") return found?.entry;
    const validated = await found.validation;
    return validated === "unavailable" ? undefined : validated;
  }

  /** The keys (entry, then dependencies) the entry at `entryKey` is held with: how `get` and `has` find them. */
  keysOf(entryKey: string, now: number): readonly string[] | undefined {
    const keys = this.#kept(entryKey, now)?.keys;
    return keys && keys.length > 0 ? keys : undefined;
  }

  /**
   * The entry at `keys` when the store cannot be reached: served within its grace (`staleTtl`) only, and
   * never past an invalidation made here.
   */
  graced(keys: readonly string[], now: number): Entry | undefined {
    const kept = this.#kept(keys[0], now);
    if (!kept || !sameKeys(kept.keys, keys) || this.#suspect(kept, keys)) return undefined;
    const { entry } = kept;
    return entry.staleUntil > entry.freshUntil && now < entry.staleUntil ? entry : undefined;
  }

  /**
   * Keeps the entry `raw` stored at `keys[0]`, valid as of `validatedAt` (a moment no later than when the
   * read or claim that vouched for it was issued). Refused when something here invalidated it since.
   */
  keep(keys: readonly string[], raw: string, validatedAt: number): void {
    const now = this.#cache.settings.clock.now();
    if (this.#log.since(keys, validatedAt)) return;
    const entry = decodeEntry(raw);
    if (!entry || now >= entry.freshUntil) return;
    this.#store.setMany([{ key: keys[0], value: raw, ttlMs: Math.max(1, entry.staleUntil - now) }]);
    const kept = this.#kept(keys[0], now); // its own decoded copy, shared by later hits
    if (!kept) return;
    kept.keys = keys;
    kept.validatedAt = validatedAt;
    this.#aging.push(keys[0], kept, validatedAt);
  }

  /** An invalidation made here of `keys` (entry or tag-version keys): applies at once. */
  forget(keys: readonly string[]): void {
    const now = this.#cache.settings.clock.now();
    this.#log.record(keys, now);
    this.#store.deleteMany(keys);
  }

  /** Closes the push subscription and releases the entries. */
  async close(): Promise<void> {
    const push = this.#push;
    this.#push = undefined;
    await (await push)?.close().catch(() => {}); // closing never fails a close
    await this.#store.close!();
  }

  #kept(key: string, now: number): Kept | undefined {
    return this.#store.peekDerived!(key, now, unvalidated) ?? undefined;
  }

  #suspect(kept: Kept, keys: readonly string[]): boolean {
    if (!this.#log.since(keys, kept.validatedAt) && !this.#cache.hasPendingInvalidation(keys)) return false;
    this.#store.deleteMany([keys[0]]);
    return true;
  }

  /** One validation: the entry's token and its versions, as the store holds them now. */
  async #validate(
    keys: readonly string[],
    kept: Kept,
    issuedAt: number,
    batch: ReadBatch,
  ): Promise<Entry | "unavailable" | undefined> {
    let heads: (string | null)[];
    try {
      heads = await batch.read(keys);
    } catch {
      return "unavailable"; // reported by run()
    }
    const head = heads[0];
    const valid = head !== null && head.startsWith(kept.guard) &&
      compareVersions(kept.entry.versions, heads) === "valid";
    if (!valid) {
      this.#store.deleteMany([keys[0]]);
      this.#cache.debug(`[L1-INVALID] key=${keys[0].slice(this.#cache.namespace.length)}`);
      return undefined;
    }
    if (this.#log.since(keys, issuedAt)) return undefined; // invalidated here meanwhile
    if (issuedAt > kept.validatedAt) {
      kept.validatedAt = issuedAt;
      this.#aging.push(keys[0], kept, issuedAt);
    }
    return kept.entry;
  }
}

/** Most entries revalidated along with one that was due: a request's worth, whatever `maxEntries` is. */
const SWEEP_ENTRIES = 256;

/** Share of `maxStaleMs` after which a hit served from L1 starts a background validation of its entry. */
const EARLY_VALIDATION = 0.75;

/** Characters of each value a validation reads: an entry's head through its token, or a whole version. */
export const HEAD_LENGTH = 64;

/** The kept state of a stored value, not validated yet (`keep` sets when it was). */
function unvalidated(raw: string): Kept | undefined {
  const entry = decodeEntry(raw, true);
  const guard = writeGuard(raw);
  return entry && guard ? { entry, guard, keys: [], validatedAt: -Infinity } : undefined;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
