/**
 * One cache: its settings and the engine's parts, made once when it opens and never reassigned. Each part
 * holds one concept (see `engine/`): where the namespace's keys live ({@linkcode KeySpace}), guarded store
 * calls ({@linkcode GuardedStore}), counters, events and logs ({@linkcode Diagnostics}), background work,
 * invalidation ({@linkcode Invalidation}). Instances (`createCache`) own one each; the default cache's is
 * replaced by `initCache` (see `default_cache.ts`). A child namespace has its own keys and shares the rest.
 *
 * @module
 */

import type { CacheStore } from "../store/store.ts";
import { MetricsRegistry } from "../observe/metrics.ts";
import { CacheEvents } from "../observe/events.ts";
import type { Telemetry } from "../telemetry/otel.ts";
import { InvalidationQueue, type Undelivered } from "./invalidation_queue.ts";
import { Flights } from "./flights.ts";
import { settledWithin } from "../base/timers.ts";
import { namedTtl, type Ttl } from "../base/ttl.ts";
import { Codec } from "../entry/codec.ts";
import { ReadBatch } from "./read_batch.ts";
import type { L1Tier } from "../l1/tier.ts";
import { type NearTier, NO_NEAR_TIER } from "../tier/near_tier.ts";
import type { ContextSettings } from "./settings.ts";
import { KeySpace } from "./key_space.ts";
import { Diagnostics } from "./diagnostics.ts";
import { GuardedStore } from "./guarded_store.ts";
import { BackgroundWork } from "./background.ts";
import { Invalidation } from "./invalidation.ts";

export { defaultSettings } from "./settings.ts";
export type { ContextSettings, Logger } from "./settings.ts";
export type { InvalidationResult } from "./invalidation.ts";
export { MAX_NAMESPACE_DEPTH } from "./key_space.ts";

/** What a cache is opened with besides its settings; the default cache hands its counters and listeners on. */
export interface ContextParts {
  readonly metrics?: MetricsRegistry;
  readonly events?: CacheEvents;
  /** OpenTelemetry instruments and spans, when `telemetry` is configured. */
  readonly telemetry?: Telemetry;
  /** Makes the in-process first level in front of a remote store, when `l1` is configured. */
  readonly l1?: (cache: CacheContext) => L1Tier;
  /** Makes the store's own near tier (an in-process store's synchronous peek); none when not given. */
  readonly storeTier?: (cache: CacheContext) => NearTier;
}

/**
 * Child namespaces a cache remembers before it starts over: names may come from data (one per tenant), and a
 * forgotten child is only made again (its entries are in the store, its flights in the shared map).
 */
const MAX_CHILDREN = 10_000;

/** The cache the wrappers use. Replaced as a whole by `initCache`. */
export class CacheContext {
  readonly settings: ContextSettings;
  readonly store: CacheStore;
  /** Where this namespace's keys live. */
  readonly keys: KeySpace;
  /** Counters, events, logs (shared with child namespaces). */
  readonly diagnostics: Diagnostics;
  /** The diagnostics' counters, held here too: every hit counts, and this saves it a step. */
  readonly metrics: MetricsRegistry;
  /** The store behind its deadline and breaker (shared with child namespaces). */
  readonly guarded: GuardedStore;
  /** Work after the answer, kept alive and awaited by `close()` (shared with child namespaces). */
  readonly work: BackgroundWork;
  /** This namespace's invalidations (the queue behind them is shared with child namespaces). */
  readonly invalidation: Invalidation;
  /** Shared by a cache and its child namespaces (keys are distinct): a clear of a parent drops its children's. */
  readonly inflight: Flights;
  /** Entry key → time before which a failed background refresh is not retried (bounded by the reader). */
  readonly refreshBackoff: Map<string, number>;
  /** Lookups of this tick, read together. */
  readonly reads: ReadBatch;
  /** This cache's serializer (with its registered types). */
  readonly codec: Codec;
  /** The in-process first level in front of a remote store, when `l1` is configured. */
  readonly l1?: L1Tier;
  /** The store's own near tier: an in-process store's synchronous peek, or none. */
  readonly storeTier: NearTier;
  /** What reads ask before the store's asynchronous read: L1 when configured, else the store's own tier. */
  readonly near: NearTier;
  readonly #queue: InvalidationQueue;
  readonly #namedTtls: Map<string, number>;
  /** The cache this is a child namespace of: closing is its. */
  readonly #parent?: CacheContext;
  readonly #children = new Map<string, CacheContext>();

  constructor(
    settings: ContextSettings,
    parts: ContextParts = {},
    child?: { parent: CacheContext; name: string },
  ) {
    this.settings = settings;
    this.store = settings.store;
    const parent = child?.parent;
    if (parent) {
      // Everything but the keys is the parent's: store, settings, counters, breaker, deadlines, queue.
      this.keys = new KeySpace(this.store.capabilities, parent.keys, child!.name);
      this.#parent = parent;
      this.diagnostics = parent.diagnostics;
      this.guarded = parent.guarded;
      this.work = parent.work;
      this.codec = parent.codec;
      this.inflight = parent.inflight;
      this.refreshBackoff = parent.refreshBackoff;
      this.#namedTtls = parent.#namedTtls;
      this.#queue = parent.#queue;
      this.l1 = parent.l1;
      this.storeTier = parent.storeTier;
    } else {
      this.keys = new KeySpace(this.store.capabilities, settings.prefix, settings.version);
      this.diagnostics = new Diagnostics(
        settings,
        parts.metrics ?? new MetricsRegistry(),
        parts.events ?? new CacheEvents(),
        parts.telemetry,
      );
      this.guarded = new GuardedStore(this.store, this.diagnostics, settings, () => {
        const retry = this.#queue.retryIfOverdue();
        if (retry) this.work.add(retry);
      });
      this.work = new BackgroundWork(settings.waitUntil, (message) => this.diagnostics.reportError(message));
      this.codec = new Codec(settings.types);
      this.inflight = new Flights();
      this.refreshBackoff = new Map();
      this.#namedTtls = new Map();
      this.#queue = this.#makeQueue();
      this.storeTier = parts.storeTier?.(this) ?? NO_NEAR_TIER;
    }
    this.metrics = this.diagnostics.metrics;
    this.reads = new ReadBatch(this.guarded);
    this.invalidation = new Invalidation({
      keys: this.keys,
      guarded: this.guarded,
      diagnostics: this.diagnostics,
      background: this.work,
      queue: this.#queue,
      inflight: this.inflight,
      l1: { forget: (keys) => this.near.forget(keys) },
      deadlineMs: settings.deadlineMs,
      tagTtlMs: settings.tagTtlMs,
    });
    if (!parent && parts.l1 && !this.store.capabilities.inProcess) this.l1 = parts.l1(this);
    this.near = this.l1 ?? this.storeTier;
  }

  #makeQueue(): InvalidationQueue {
    const { settings, keys, diagnostics } = this;
    return new InvalidationQueue(
      (deleted, background, budget) =>
        this.guarded.run(
          "invalidate",
          (signal) => this.store.deleteMany(deleted, { signal, background, durable: true }),
          budget,
          background ? "background" : "probe",
        ),
      {
        maxKeys: settings.maxPendingInvalidations,
        generationKey: keys.generationKey,
        retryMaxMs: settings.retryMaxMs,
        stalledMs: 2 * settings.deadlineMs,
        onSize: (size) => diagnostics.metrics.gauge("cache.invalidate.pending", size),
        onEscalate: () => {
          diagnostics.metrics.count("cache.invalidate.escalated");
          if (keys.generationKey) this.l1?.forget([keys.generationKey]);
          diagnostics.warn(
            `more than ${settings.maxPendingInvalidations} invalidations could not reach the ${this.store.name} store: they are replaced by one invalidation of the whole namespace ${keys.namespace}`,
          );
        },
      },
    );
  }

  /** Seconds for a ttl option; named and default ttls are read from the env once per cache. */
  ttlSeconds(ttl: Ttl | undefined): number {
    if (typeof ttl === "number") return ttl;
    const name = ttl ?? "default";
    let seconds = this.#namedTtls.get(name);
    if (seconds === undefined) this.#namedTtls.set(name, seconds = namedTtl(name, this.settings.env));
    return seconds;
  }

  /**
   * The child namespace `name`: the same store, settings, counters and queue, its own keys (made once per
   * name, so its readers keep their remembered keys).
   *
   * @throws {TypeError} a name that is not a non-empty string of letters, digits and `_.@-`.
   * @throws {RangeError} nesting deeper than {@linkcode MAX_NAMESPACE_DEPTH}.
   */
  child(name: string): CacheContext {
    const known = this.#children.get(name);
    if (known) return known;
    const child = new CacheContext(this.settings, {}, { parent: this, name });
    if (this.#children.size >= MAX_CHILDREN) this.#children.clear();
    this.#children.set(name, child);
    return child;
  }

  /**
   * Closes within one deadline: waits for background work, tries to deliver queued invalidations, stops
   * retrying and reports what did not land (one warning), closes L1, then closes `owned` (the store this cache
   * opened from its url; a store given as `store` stays open). Never fails.
   */
  async close(owned?: CacheStore): Promise<Undelivered> {
    if (this.#parent) return { keys: [], namespace: false }; // its work and queue are its cache's
    const end = performance.now() + this.settings.deadlineMs;
    const within = <T>(work: Promise<T>) => settledWithin(work, Math.max(0, end - performance.now()));
    // Queued invalidations go out while background work finishes; what that work queued goes out after it.
    const queue = this.#queue;
    await within(Promise.all([this.work.settled(), queue.size > 0 && queue.drain()]));
    if (queue.size > 0) await within(queue.drain());
    queue.stop();
    await within(this.l1?.close() ?? Promise.resolve());
    const left = queue.undelivered();
    if (left.keys.length > 0 || left.namespace) {
      const what = left.namespace
        ? `the invalidation of the whole namespace ${this.keys.namespace}`
        : `${left.keys.length} invalidation${left.keys.length === 1 ? "" : "s"} (${
          left.keys.slice(0, 5).join(", ")
        }${left.keys.length > 5 ? ", …" : ""})`;
      this.diagnostics.warn(
        `closing with ${what} not delivered to the ${this.store.name} store: other processes may read stale entries until they expire`,
      );
    }
    if (owned?.close) await within(owned.close());
    return left;
  }
}
