/**
 * The two-level cache's first level: decoded entries of a remote store kept in process memory, each with the
 * time it was last known to be valid. A hit younger than `maxStaleMs` costs no request; an older one is
 * validated (its entry token and dependency versions, read for every due entry of the tick in one batch).
 * Invalidations made in this process apply at once. Shipped only with applications that import `@svc-infra/cache/l1`.
 *
 * The bound: an entry is served from L1 only while its last validation (the moment the read that vouched for
 * it was issued, or earlier) is younger than `maxStaleMs`, so a read that starts more than `maxStaleMs` after
 * an invalidation was acknowledged anywhere cannot get the old value.
 *
 * @module
 */

import { decodeEntry, type Entry } from "../entry/entry.ts";
import type { StoreSlot } from "../store/store.ts";
import { peekRemembered } from "../keys/read_keys.ts";
import { type MemoryStore, memoryStore } from "../store/memory_store.ts";
import { InvalidationLog } from "./invalidation_log.ts";
import { type Kept, unvalidated } from "./kept.ts";
import { Due, type NearFound, type NearTier } from "../tier/near_tier.ts";
import { EARLY_VALIDATION, type L1Host, Validator } from "./validator.ts";
import { isFresh, verdict } from "../entry/verdict.ts";
import type { L1Settings } from "./options.ts";

/** One cache's L1. */
export class L1Tier implements NearTier {
  readonly name = "l1";
  readonly dated = true;
  readonly settings: L1Settings;
  readonly #cache: L1Host;
  readonly #store: MemoryStore;
  readonly #log: InvalidationLog;
  readonly #validator: Validator;
  /** The push subscription, while one is open. */
  #push?: Promise<{ close(): Promise<void> } | undefined>;

  constructor(cache: L1Host, settings: L1Settings) {
    this.#cache = cache;
    this.settings = settings;
    const clock = cache.settings.clock;
    this.#store = memoryStore({ maxEntries: settings.maxEntries, maxBytes: settings.maxBytes, clock });
    this.#log = new InvalidationLog(settings.maxStaleMs, settings.maxEntries);
    this.#validator = new Validator(cache, settings, this.#store, this.#log);
    const store = cache.store;
    // Push, where the store has it: other instances' invalidations arrive sooner than the bound.
    const unavailable = () => void cache.metrics.count("cache.l1.push.unavailable");
    this.#push = store.subscribe?.(
      cache.keys.invalidationChannel,
      (keys) => this.#pushed(keys),
      (connected) => connected || unavailable(),
    ).catch(() => void unavailable());
  }

  /** Another instance invalidated `keys`: forgotten here, and entries vouched for before are refused. */
  #pushed(keys: readonly string[]): void {
    this.#cache.metrics.count("cache.l1.push", undefined, keys.length);
    this.#cache.diagnostics.debug(`[L1-PUSH] keys=${keys.length}`);
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

  /**
   * The L1 state of a call's `keys` (entry key, then dependency keys) at `now`. `memo` is where the call's
   * plan remembers the slot its entry was found in: a hot key skips the key lookup.
   */
  find(keys: readonly string[], now: number, memo?: { slot: StoreSlot | undefined }): NearFound {
    const kept = this.#kept(keys[0], now, memo);
    if (!kept) return undefined;
    // Held with other dependencies, its versions say nothing of this call's: as good as invalid.
    if (!isFresh(kept.entry, sameKeys(kept.keys, keys), this.#suspect(kept, keys), now)) return undefined;
    // L1's bound on top of the verdict: served without asking the store only while recently validated.
    const { maxStaleMs } = this.settings;
    const age = now - kept.validatedAt;
    if (age < maxStaleMs) {
      // Nearing the bound: revalidated in the background, so an entry hit steadily never makes a caller wait.
      if (age >= maxStaleMs * EARLY_VALIDATION) this.#validator.early(keys, kept, now);
      return kept.entry;
    }
    return new Due(this.#validator.due(keys, kept, now));
  }

  /**
   * The entry at `keys` if L1 may serve it: fresh, or once the store has validated it (due entries of a tick
   * share one request). `undefined` sends the caller to the store.
   */
  async entry(keys: readonly string[], now: number): Promise<Entry | undefined> {
    const found = this.find(keys, now);
    if (!(found instanceof Due)) return found as Entry | undefined;
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
    if (!kept) return undefined;
    // Past the bound and unconfirmed, it may have changed: judged as softly invalidated (stale within grace).
    const versions = sameKeys(kept.keys, keys) ? "soft" : "invalid";
    const judged = verdict(kept.entry, versions, this.#suspect(kept, keys), now, true, false);
    return judged === "stale" ? kept.entry : undefined;
  }

  /**
   * Keeps the entry `raw` stored at `keys[0]`, valid as of `validatedAt` (a moment no later than when the
   * read or claim that vouched for it was issued). Refused when something here invalidated it since.
   */
  keep(keys: readonly string[], raw: string, validatedAt: number): void {
    const now = this.#cache.settings.clock.now();
    const entry = decodeEntry(raw);
    // The caller vouches for its versions; only what a hit could serve is worth holding.
    if (verdict(entry, "valid", this.#log.since(keys, validatedAt), now, false, false) !== "fresh") return;
    this.#store.setMany([{ key: keys[0], value: raw, ttlMs: Math.max(1, entry!.staleUntil - now) }]);
    const kept = this.#kept(keys[0], now); // its own decoded copy, shared by later hits
    if (!kept) return;
    kept.keys = keys;
    this.#validator.dated(keys[0], kept, validatedAt);
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

  #kept(key: string, now: number, memo?: { slot: StoreSlot | undefined }): Kept | undefined {
    if (memo) return peekRemembered(this.#store, memo, key, now, unvalidated);
    return this.#store.peekDerived!(key, now, unvalidated) ?? undefined;
  }

  #suspect(kept: Kept, keys: readonly string[]): boolean {
    if (!this.#log.since(keys, kept.validatedAt) && !this.#cache.invalidation.isPending(keys)) return false;
    this.#store.deleteMany([keys[0]]);
    return true;
  }
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
