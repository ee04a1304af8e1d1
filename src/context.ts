/**
 * One cache's engine room: store, namespace, settings, metrics, logger, breaker, deadlines, the flights in
 * progress and its own invalidation queue. Every store call goes through {@linkcode CacheContext.run}, which
 * adds the deadline, the breaker and error accounting. Instances (`createCache`) own one each; the default
 * cache's is replaced by `initCache` (see `default_cache.ts`).
 *
 * @module
 */

import type { CacheStore, StoreWrite } from "./store.ts";
import { revised, tokenOf } from "./versions.ts";
import { tokenFor } from "./token.ts";
import { type Clock, systemClock } from "./clock.ts";
import { type Env, envFlag, readEnv } from "./env.ts";
import { fitKey, looksHashed } from "./keys.ts";
import { MetricsRegistry } from "./metrics.ts";
import { type CacheEvent, CacheEvents } from "./events.ts";
import type { Telemetry } from "./telemetry/otel.ts";
import { StoreError } from "./errors.ts";
import { CircuitBreaker } from "./breaker.ts";
import { Budget, Deadlines } from "./deadline.ts";
import { InvalidationQueue, type Undelivered } from "./invalidation_queue.ts";
import type { Flight } from "./flight.ts";
import { settledWithin } from "./timers.ts";
import { namedTtl, type Ttl } from "./ttl.ts";
import type { LockOptions } from "./read_options.ts";
import { Codec, type ValueTypes } from "./codec.ts";
import { ReadBatch } from "./read_batch.ts";
import { toWaitUntil, type WaitUntil, type WaitUntilOption } from "./wait_until.ts";
import type { L1Tier } from "./l1/tier.ts";

/** Where log lines go; `console` by default. */
export interface Logger {
  /** Debug lines (`CACHE_DEBUG`). */
  debug(message: string): void;
  /** Recoveries, such as pending invalidations stored. */
  info(message: string): void;
  /** Rate-limited backend errors and once-per-function warnings. */
  warn(message: string): void;
  /** Not used by the cache today; part of the console shape. */
  error(message: string): void;
}

/** Settings of the active cache, resolved from `initCache` options, the env and defaults. */
export interface ContextSettings {
  readonly store: CacheStore;
  readonly prefix: string;
  readonly version: string;
  readonly env?: Env;
  readonly debug: boolean;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: () => number;
  readonly deadlineMs: number;
  readonly tagTtlMs: number;
  readonly waitUntil?: WaitUntil;
  /** Default `lock` of reads. */
  readonly lock?: boolean | LockOptions;
  readonly breakerThreshold: number;
  readonly breakerCooldownMs: number;
  readonly errorLogIntervalMs: number;
  /** Longest wait between two retries of a pending invalidation. */
  readonly retryMaxMs: number;
  /** Most keys the invalidation queue holds before it escalates to a namespace-wide invalidation. */
  readonly maxPendingInvalidations: number;
  /** Strings that must never reach a log line (passwords, tokens). */
  readonly secrets: readonly string[];
  /** Class-aware types of the serializer. */
  readonly types?: ValueTypes;
}

/** What an invalidation achieved. */
export interface InvalidationResult {
  /** `true` when it reached the store; `false` when it is queued for retry (honoured by this process). */
  readonly delivered: boolean;
  /** Settles once nothing is queued any more, so the invalidation has landed. */
  readonly landed: Promise<void>;
}

/**
 * Entry, tag-version and lock keys live in separate spaces under the namespace; `g` is the namespace's
 * generation, a version every entry of a remote store depends on (deleted by `clear()`, and when the
 * invalidation queue overflows); `n:{name}:` is a child namespace (names hold no `:`, so spaces never meet).
 */
const SPACE = { entry: "e:", tag: "t:", lock: "l:", generation: "g", child: "n:" } as const;

/** Deepest nesting of namespaces under a cache (`cache.namespace("a").namespace("b")` is 2). */
export const MAX_NAMESPACE_DEPTH = 8;
const NAMESPACE_NAME = /^[A-Za-z0-9_.@-]+$/;
/**
 * Child namespaces a cache remembers before it starts over: names may come from data (one per tenant), and a
 * forgotten child is only made again (its entries are in the store, its flights in the shared map).
 */
const MAX_CHILDREN = 10_000;

/** The cache the wrappers use. Replaced as a whole by `initCache`. */
export class CacheContext {
  readonly settings: ContextSettings;
  readonly store: CacheStore;
  readonly namespace: string;
  /**
   * The namespace of the cache at the top of this one's chain (this one's, unless it is a child namespace):
   * entries name their dependencies relative to it, so a child's entry can depend on its parents' generations.
   */
  readonly root: string;
  /** How many `namespace()` steps below its cache this one is (0 for a cache itself). */
  readonly depth: number;
  /** Shared by a cache and its child namespaces (keys are distinct): a clear of a parent drops its children's. */
  readonly inflight: Map<string, Flight>;
  /** Entry key → time before which a failed background refresh is not retried (bounded by the reader). */
  readonly refreshBackoff: Map<string, number>;
  /** Lookups of this tick, read together. */
  readonly reads: ReadBatch = new ReadBatch(this);
  /** This cache's serializer (with its registered types). */
  readonly codec: Codec;
  /** This cache's counters (the default cache hands its registry on when `initCache` reconfigures it). */
  readonly metrics: MetricsRegistry;
  /** This cache's event listeners (kept, like the counters, when `initCache` reconfigures the default). */
  readonly events: CacheEvents;
  readonly #background: Set<Promise<unknown>>;
  readonly #breaker: CircuitBreaker;
  readonly #deadlines: Deadlines;
  readonly #warned: Set<string>;
  /** Id → when {@linkcode warnEvery} last logged it. */
  readonly #warnedAt: Map<string, number>;
  readonly #namedTtls: Map<string, number>;
  readonly #queue: InvalidationQueue;
  /** The cache this is a child namespace of: error logging and closing are its. */
  readonly #parent?: CacheContext;
  readonly #children = new Map<string, CacheContext>();
  /** The in-process first level in front of a remote store, when `l1` is configured. */
  l1?: L1Tier;
  /** OpenTelemetry instruments and spans, when `telemetry` is configured. */
  telemetry?: Telemetry;
  /** This namespace's generation key (remote stores; none for in-process stores): what `clear()` deletes. */
  readonly generationKey?: string;
  /**
   * The generation keys every entry of this namespace depends on, read with it: its parents' (outermost first)
   * and its own. Empty for in-process stores.
   */
  readonly generationKeys: readonly string[];
  #lastErrorLog = -Infinity;
  #suppressedErrors = 0;

  constructor(
    settings: ContextSettings,
    metrics: MetricsRegistry = new MetricsRegistry(),
    events: CacheEvents = new CacheEvents(),
    child?: { readonly parent: CacheContext; readonly name: string },
  ) {
    this.settings = settings;
    this.metrics = metrics;
    this.events = events;
    this.store = settings.store;
    const parent = child?.parent;
    this.namespace = parent
      ? parent.namespace + SPACE.child + child!.name + ":"
      : `${settings.prefix}:${settings.version}:`;
    this.root = parent ? parent.root : this.namespace;
    this.depth = parent ? parent.depth + 1 : 0;
    // An in-process store cannot be unreachable: its invalidations never queue, so it needs no generation
    // (its clear() deletes the namespace's keys instead).
    if (!this.store.capabilities.inProcess) this.generationKey = this.namespace + SPACE.generation;
    this.generationKeys = this.generationKey === undefined
      ? []
      : [...(parent?.generationKeys ?? []), this.generationKey];
    if (parent) {
      // Everything but the keys is the parent's: store, settings, counters, breaker, deadlines, queue.
      this.#parent = parent;
      this.codec = parent.codec;
      this.inflight = parent.inflight;
      this.refreshBackoff = parent.refreshBackoff;
      this.#background = parent.#background;
      this.#breaker = parent.#breaker;
      this.#deadlines = parent.#deadlines;
      this.#warned = parent.#warned;
      this.#warnedAt = parent.#warnedAt;
      this.#namedTtls = parent.#namedTtls;
      this.#queue = parent.#queue;
      this.l1 = parent.l1;
      this.telemetry = parent.telemetry;
      return;
    }
    this.codec = new Codec(settings.types);
    this.inflight = new Map();
    this.refreshBackoff = new Map();
    this.#background = new Set();
    this.#warned = new Set();
    this.#warnedAt = new Map();
    this.#namedTtls = new Map();
    this.#breaker = new CircuitBreaker(settings.breakerThreshold, settings.breakerCooldownMs, settings.clock);
    this.#deadlines = new Deadlines(settings.deadlineMs);
    this.#queue = new InvalidationQueue(
      (keys, background, budget) =>
        this.run(
          "invalidate",
          (signal) => this.store.deleteMany(keys, { signal, background, durable: true }),
          budget,
          background ? "background" : "probe",
        ),
      {
        maxKeys: settings.maxPendingInvalidations,
        generationKey: this.generationKey,
        retryMaxMs: settings.retryMaxMs,
        onSize: (size) => this.metrics.gauge("cache.invalidate.pending", size),
        onEscalate: () => {
          this.metrics.count("cache.invalidate.escalated");
          if (this.generationKey) this.l1?.forget([this.generationKey]);
          this.settings.logger.warn(
            `[svc-infra/cache] more than ${settings.maxPendingInvalidations} invalidations could not reach the ${this.store.name} store: they are replaced by one invalidation of the whole namespace ${this.namespace}`,
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

  /** The stored key of an entry, hashed when it is longer than the store allows. */
  entryKey(logical: string): string | Promise<string> {
    return this.#fit(this.namespace + SPACE.entry + logical);
  }

  /** The stored key of a tag's version. */
  tagKey(tag: string): string | Promise<string> {
    return this.#fit(this.namespace + SPACE.tag + tag);
  }

  /** The stored key of a lock on an entry key. */
  lockKey(entryKey: string): string {
    return this.namespace + SPACE.lock + entryKey.slice(this.namespace.length + SPACE.entry.length);
  }

  /** The logical key of a stored entry key (what `keys()` lists). */
  logicalKey(entryKey: string): string {
    return entryKey.slice(this.namespace.length + SPACE.entry.length);
  }

  /** Prefix of every entry key, for listings. */
  get entryPrefix(): string {
    return this.namespace + SPACE.entry;
  }

  #fit(key: string): string | Promise<string> {
    const max = Math.min(this.store.capabilities.maxKeyBytes, 1024);
    return key.length * 3 <= max && !looksHashed(key) ? key : fitKey(key, max);
  }

  /**
   * Runs one store call with the deadline and the breaker. Rejects with `StoreError` on failure, timeout or
   * an open breaker; callers decide what a failure means (a miss, a queued invalidation). With a `budget`,
   * the call gets what is left of it and spends from it. A `probe` (an invalidation, a lock release) goes
   * through an open breaker, so it lands as soon as the store answers again; a `background` probe (a timed
   * retry) has no caller waiting and does not keep the process alive.
   */
  run<T>(
    op: string,
    call: (signal?: AbortSignal) => Promise<T>,
    budget?: Budget,
    mode: "call" | "probe" | "background" = "call",
  ): Promise<T> {
    if (this.store.capabilities.inProcess) return call();
    if (mode === "call" && !this.#breaker.allows()) {
      return Promise.reject(new StoreError(this.store.name, `${op} skipped: the circuit breaker is open`));
    }
    const ms = budget ? Math.min(budget.remainingMs, this.#deadlines.ms) : this.#deadlines.ms;
    if (ms <= 0) {
      return Promise.reject(new StoreError(this.store.name, `${op} skipped: the call's deadline is spent`));
    }
    const started = performance.now();
    const telemetry = this.telemetry;
    return this.#deadlines.bound(
      telemetry?.storeSpans
        ? (signal) =>
          telemetry.span(`cache.backend ${op}`, { "cache.operation": op }, true, () => call(signal))
        : call,
      {
        expired: () => {
          const elapsed = performance.now() - started;
          budget?.spend(elapsed);
          const error = new StoreError(this.store.name, `${op} got no answer within ${ms} ms`);
          return this.#failed(op, error, elapsed);
        },
        succeeded: () => {
          const elapsed = performance.now() - started;
          budget?.spend(elapsed);
          this.#breaker.succeeded();
          this.metrics.time("cache.backend.ms", elapsed);
          if (this.observed) this.emit({ type: "backend", operation: op, durationMs: elapsed });
        },
        failed: (error) => {
          const elapsed = performance.now() - started;
          budget?.spend(elapsed);
          return this.#failed(
            op,
            error instanceof StoreError ? error : new StoreError(
              this.store.name,
              `${op} failed: ${this.redact(String((error as Error)?.message ?? error))}`,
              { cause: error },
            ),
            elapsed,
          );
        },
      },
      ms,
      mode === "background",
    );
  }

  #failed(op: string, error: StoreError, elapsed: number): StoreError {
    const wasOpen = this.#breaker.open;
    this.#breaker.failed();
    if (!wasOpen && this.#breaker.open) this.metrics.count("cache.breaker.open");
    this.reportError(`${op}: ${error.message}`);
    if (this.observed) {
      this.emit({ type: "backend", operation: op, durationMs: elapsed, error });
      this.emit({ type: "error", operation: op, error });
    }
    return error;
  }

  /** `true` when events are wanted (listeners, telemetry): build one only then. */
  get observed(): boolean {
    return this.events.active || this.telemetry !== undefined;
  }

  /** Hands `event` to the telemetry and the listeners; a listener's failure is logged once, never thrown. */
  emit(event: CacheEvent): void {
    this.telemetry?.record(event);
    if (this.events.active) this.events.emit(event, this.#listenerFailed);
  }

  readonly #listenerFailed = (error: unknown) =>
    this.warnOnce(
      "listener",
      `an event listener failed (${(error as Error)?.message ?? error}); calls go on`,
    );

  /**
   * Counts an error and logs it, at most once per interval: an outage is one log line, not one per call.
   */
  reportError(message: string): void {
    if (this.#parent) return this.#parent.reportError(message); // one log interval for the whole cache
    this.metrics.count("cache.error");
    const now = this.settings.clock.now();
    if (now - this.#lastErrorLog < this.settings.errorLogIntervalMs) {
      this.#suppressedErrors++;
      return;
    }
    const more = this.#suppressedErrors
      ? ` (${this.#suppressedErrors} similar errors since the last report)`
      : "";
    this.#lastErrorLog = now;
    this.#suppressedErrors = 0;
    this.settings.logger.warn(`[svc-infra/cache] ${this.redact(message)}${more}`);
  }

  /** Replaces every configured secret in `text`. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.settings.secrets) if (secret) out = out.split(secret).join("***");
    return out;
  }

  /** Logs a warning once per `id` for the lifetime of this cache. */
  warnOnce(id: string, message: string): void {
    if (this.#warned.has(id)) return;
    this.#warned.add(id);
    this.settings.logger.warn(`[svc-infra/cache] ${message}`);
  }

  /** Logs a warning at most once per error-log interval for each `id` (a condition that may recur). */
  warnEvery(id: string, message: string): void {
    const now = this.settings.clock.now();
    if (now - (this.#warnedAt.get(id) ?? -Infinity) < this.settings.errorLogIntervalMs) return;
    this.#warnedAt.set(id, now);
    this.settings.logger.warn(`[svc-infra/cache] ${this.redact(message)}`);
  }

  /** Prints a debug line in the seed's format when debug is on. */
  debug(line: string): void {
    if (this.settings.debug) this.settings.logger.debug(line);
  }

  /** A call's `waitUntil` option as a function, the cache's own standing in for a detached method. */
  waitUntilOf(option: WaitUntilOption | undefined): WaitUntil | undefined {
    return toWaitUntil(option, this.settings.waitUntil);
  }

  /** Keeps background work alive: handed to `waitUntil` when there is one, always awaited by `closeCache`. */
  background(promise: Promise<unknown>, waitUntil = this.settings.waitUntil): void {
    const tracked = promise.catch((error) => this.reportError(`background work failed: ${error}`))
      .finally(() => this.#background.delete(tracked));
    this.#background.add(tracked);
    try {
      waitUntil?.(tracked);
    } catch (error) {
      // Only the platform's keep-alive is lost: the work goes on, and closeCache awaits it.
      this.reportError(
        `Cannot hand background work to waitUntil: it threw ${error}; pass the object it belongs to ` +
          "(waitUntil: ctx) or a function that calls it on that object",
      );
    }
  }

  /**
   * Starts with the breaker open when the store could not be reached at start-up: early calls go straight to
   * their loaders, and a probe after the cooldown finds the store once it is up. Reported once.
   */
  unreachableAtStart(reason: string): void {
    this.#breaker.trip();
    this.metrics.count("cache.breaker.open");
    this.reportError(
      `the ${this.store.name} store cannot be reached at start-up: ${reason}; serving from loaders until it answers`,
    );
  }

  /** Invalidations (keys, or the namespace as one) that have not reached the store yet. */
  get pendingInvalidations(): number {
    return this.#queue.size;
  }

  /**
   * A mark to take before a read of the store, for {@linkcode hasPendingInvalidation}: a queued invalidation
   * that lands while the read is out may not be in what it returns.
   */
  get invalidationMark(): number {
    return this.#queue.landings;
  }

  /**
   * `true` when an invalidation of one of `keys` (or of the whole namespace) has not reached the store yet, or,
   * given the `mark` taken before a read, when a queued one landed since (conservatively, of any key).
   */
  hasPendingInvalidation(keys: readonly string[], mark?: number): boolean {
    return this.#queue.covers(keys) || (mark !== undefined && mark !== this.#queue.landings);
  }

  /**
   * Invalidates tags by deleting their version keys in one store call: every entry stored under a version
   * no longer matches, and a version is only ever created afresh (`ifAbsent`, a new random token), so a late
   * or repeated delete can never bring an old version back. When the store cannot be reached the deletes are
   * queued, honoured by this process at once and retried until they land.
   */
  async invalidate(tags: readonly string[], soft = false): Promise<InvalidationResult> {
    const unique = [...new Set(tags)];
    if (unique.length === 0) return { delivered: true, landed: Promise.resolve() };
    const keys = await Promise.all(unique.map((tag) => this.tagKey(tag)));
    return await this.#invalidating(keys, async (budget) => {
      for (const [entryKey, flight] of this.inflight) {
        // A load that started before this invalidation must not be handed to later callers.
        if (flight.tagKeys.some((k) => keys.includes(k))) this.#drop(entryKey);
      }
      this.metrics.count("cache.invalidate.count", undefined, unique.length);
      if (this.observed) this.emit({ type: "invalidate", tags: unique });
      this.debug(`[INVALIDATE] key=tags=[${unique.map((t) => `'${t}'`).join(", ")}]${soft ? " soft" : ""}`);
      if (soft && await this.#revise(keys, budget)) {
        this.#announce(keys, Promise.resolve());
        return { delivered: true, landed: Promise.resolve() };
      }
      return await this.#invalidateKeys(keys, budget);
    });
  }

  /**
   * How every invalidation made here runs (hard, soft, per entry): `keys` count as invalidated in this process
   * from its start until the store took it (or it is queued), so no read made meanwhile serves or keeps what
   * it replaces; and L1 forgets them both at the start and at the end, refusing afterwards any entry vouched
   * for before the store took it. Its store calls share one deadline.
   */
  async #invalidating<T>(keys: readonly string[], work: (budget: Budget) => Promise<T>): Promise<T> {
    this.l1?.forget(keys);
    try {
      return await this.#queue.making(keys, () => work(new Budget(this.settings.deadlineMs)));
    } finally {
      this.l1?.forget(keys);
    }
  }

  /**
   * A soft invalidation: each existing version gets a new revision, conditional on its token (a hard
   * invalidation in between wins). `false` when the store could not take it: the caller falls back to the
   * hard invalidation, which is queued and retried, so nothing is lost.
   */
  async #revise(keys: readonly string[], budget: Budget): Promise<boolean> {
    try {
      const current = await this.run(
        "read",
        (signal) => this.store.getMany(keys, { signal }),
        budget,
        "probe",
      );
      const writes: StoreWrite[] = [];
      current.forEach((version, i) => {
        if (version === null) return; // nothing stored under it
        writes.push({
          key: keys[i],
          value: revised(version, tokenFor(this.store)),
          ttlMs: this.settings.tagTtlMs,
          ifStartsWith: tokenOf(version),
        });
      });
      if (writes.length > 0) {
        await this.run(
          "invalidate",
          (signal) => this.store.setMany(writes, { signal, durable: true }),
          budget,
          "probe",
        );
      }
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Invalidates single entries by deleting them. A load in flight cannot undo it: its write is conditional
   * on the token it claimed, which the delete removed.
   */
  invalidateEntries(entryKeys: readonly string[]): Promise<InvalidationResult> {
    return this.#invalidating(entryKeys, (budget) => {
      if (this.observed) {
        this.emit({ type: "invalidate", keys: entryKeys.map((key) => this.logicalKey(key)) });
      }
      for (const key of entryKeys) this.#drop(key);
      return this.#invalidateKeys(entryKeys, budget);
    });
  }

  /** An invalidation overtook the load of `entryKey`: nobody joins it, and it does not store. */
  #drop(entryKey: string): void {
    this.inflight.get(entryKey)?.drop();
    this.inflight.delete(entryKey);
  }

  async #invalidateKeys(keys: readonly string[], budget: Budget): Promise<InvalidationResult> {
    if (this.store.capabilities.inProcess) {
      await this.store.deleteMany(keys);
      return { delivered: true, landed: Promise.resolve() };
    }
    const delivered = await this.#queue.invalidate(keys, budget);
    const landed = this.#queue.landed();
    this.#announce(keys, landed);
    return { delivered, landed };
  }

  /**
   * Push: once the invalidation of `keys` has landed, tells the L1s of every instance of the namespace (when
   * the store can publish; also from caches without L1 of their own). Best effort and in the background: the
   * bound holds without it.
   */
  #announce(keys: readonly string[], landed: Promise<void>): void {
    const publish = this.store.publish;
    if (!publish) return;
    const channel = this.invalidationChannel;
    this.background(landed.then(() => publish.call(this.store, channel, keys)).catch(() => {}));
  }

  /** Where this cache's invalidations are pushed (a child namespace's too: the keys say whose they are). */
  get invalidationChannel(): string {
    return this.root + "invalidations";
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
    if (typeof name !== "string" || !NAMESPACE_NAME.test(name)) {
      throw new TypeError(
        `Cannot make a namespace: the name must be a non-empty string of letters, digits and _.@- (no ":"), current value is ${
          JSON.stringify(name)
        }`,
      );
    }
    if (this.depth >= MAX_NAMESPACE_DEPTH) {
      throw new RangeError(
        `Cannot make namespace ${JSON.stringify(name)} under ${this.namespace}: it would nest ${
          this.depth + 1
        } levels deep, and at most ${MAX_NAMESPACE_DEPTH} are allowed`,
      );
    }
    const child = new CacheContext(this.settings, this.metrics, this.events, { parent: this, name });
    if (this.#children.size >= MAX_CHILDREN) this.#children.clear();
    this.#children.set(name, child);
    return child;
  }

  /**
   * Makes every entry of this namespace and of the namespaces under it a miss, in every process sharing the
   * store. Remote stores: one delete of the namespace's generation key, which all those entries were stored
   * under (O(1) whatever their number), queued and retried like a tag invalidation. In-process stores (which
   * read no generation, so that a hit costs no extra lookup): the store's `clearScope`, which drops the entries
   * lazily, else a scan and delete of the namespace's keys. Either way a load in flight does not store, and
   * nobody joins it afterwards.
   */
  clear(): Promise<InvalidationResult> {
    this.metrics.count("cache.clear");
    this.debug(`[CLEAR] namespace=${this.namespace}`);
    const key = this.generationKey;
    if (key === undefined) return this.#clearInProcess();
    return this.#invalidating([key], (budget) => {
      for (const [entryKey, flight] of this.inflight) if (flight.tagKeys.includes(key)) this.#drop(entryKey);
      return this.#invalidateKeys([key], budget);
    });
  }

  async #clearInProcess(): Promise<InvalidationResult> {
    const prefix = this.namespace;
    if (!this.store.clearScope && !this.store.scan) {
      throw new TypeError(
        `Cannot clear ${prefix}: the ${this.store.name} store can neither scan nor be cleared`,
      );
    }
    for (const entryKey of this.inflight.keys()) if (entryKey.startsWith(prefix)) this.#drop(entryKey);
    if (this.store.clearScope) await this.store.clearScope(prefix); // O(1) in entries: no scan
    else {
      const keys = (await this.store.scan!(prefix)).filter((key) => !isLockKey(key, prefix.length));
      await this.store.deleteMany(keys);
    }
    return { delivered: true, landed: Promise.resolve() };
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
    const background = Promise.allSettled([...this.#background]);
    await within(Promise.all([background, this.#queue.size > 0 && this.#queue.drain()]));
    if (this.#queue.size > 0) await within(this.#queue.drain());
    this.#queue.stop();
    await within(this.l1?.close() ?? Promise.resolve());
    const left = this.#queue.undelivered();
    if (left.keys.length > 0 || left.namespace) {
      const what = left.namespace
        ? `the invalidation of the whole namespace ${this.namespace}`
        : `${left.keys.length} invalidation${left.keys.length === 1 ? "" : "s"} (${
          left.keys.slice(0, 5).join(", ")
        }${left.keys.length > 5 ? ", …" : ""})`;
      this.settings.logger.warn(
        `[svc-infra/cache] closing with ${what} not delivered to the ${this.store.name} store: other processes may read stale entries until they expire`,
      );
    }
    if (owned?.close) await within(owned.close());
    return left;
  }
}

/**
 * `true` for a lock key under the namespace ending at `from`: child namespaces (`n:{name}:`, names without `:`)
 * are stepped over, then the space says what the key is.
 */
function isLockKey(key: string, from: number): boolean {
  let at = from;
  while (key.startsWith(SPACE.child, at)) at = key.indexOf(":", at + SPACE.child.length) + 1;
  return key.startsWith(SPACE.lock, at);
}

/** Settings with defaults from the environment for everything not given. */
export function defaultSettings(
  given: Partial<ContextSettings> & { store: CacheStore },
): ContextSettings {
  const env = given.env;
  const debugLogger: Logger = console;
  return {
    prefix: readEnv("CACHE_PREFIX", env) || "svc",
    version: readEnv("CACHE_VERSION", env) || "v1",
    debug: envFlag("CACHE_DEBUG", env),
    logger: debugLogger,
    clock: systemClock,
    random: Math.random,
    deadlineMs: 1000,
    tagTtlMs: 30 * 24 * 3600 * 1000,
    breakerThreshold: 5,
    breakerCooldownMs: 1000,
    errorLogIntervalMs: 30_000,
    retryMaxMs: 200,
    maxPendingInvalidations: 10_000,
    secrets: [],
    ...given,
  };
}
