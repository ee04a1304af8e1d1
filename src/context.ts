/**
 * The active cache: store, namespace, options, metrics and logger, resolved by the wrappers at call time so
 * that `initCache` may run after functions were wrapped. Every store call goes through {@linkcode CacheContext.run},
 * which adds the deadline, the breaker and error accounting.
 *
 * @module
 */

import type { CacheStore, StoreWrite } from "./store.ts";
import { type Clock, systemClock } from "./clock.ts";
import { type Env, envFlag, readEnv } from "./env.ts";
import { fitKey } from "./keys.ts";
import { MetricsRegistry } from "./metrics.ts";
import { StoreError } from "./errors.ts";
import { memoryStore } from "./memory_store.ts";
import { CircuitBreaker } from "./breaker.ts";
import { Deadlines } from "./deadline.ts";
import { namedTtl, type Ttl } from "./ttl.ts";
import type { LockOptions } from "./read_options.ts";
import { decodeEntry, type Entry } from "./entry.ts";

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

/** Hands a background promise to the platform so it survives the response (Workers, Vercel, Hono). */
export type WaitUntil = (promise: Promise<unknown>) => void;

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
  /** Strings that must never reach a log line (passwords, tokens). */
  readonly secrets: readonly string[];
}

/** A load in progress, shared by concurrent callers of one key. */
export interface Flight {
  readonly tagKeys: readonly string[];
  readonly promise: Promise<LoadResult>;
}

/** What a load produced: the value for the caller that ran it, and a way to give others their own copy. */
export interface LoadResult {
  readonly value: unknown;
  readonly copy: () => unknown;
}

/** The metrics of the process: kept across `initCache` calls. */
export const metrics: MetricsRegistry = new MetricsRegistry();

/** Invalidations that could not reach the store yet, by tag key; kept across `initCache` calls. */
const pendingInvalidations = new Map<string, StoreWrite>();
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let retryDelayMs = 0;
const RETRY_MIN_MS = 50;

/** How long an entry tombstone (a per-entry invalidation, read as a miss) lives when nothing reloads the entry. */
const TOMBSTONE_MS = 60_000;

/** Decoded entries of an in-process store kept for reuse. */
const DECODED_ENTRIES = 1000;

/** Entry, tag-version and lock keys live in separate spaces under the namespace. */
const SPACE = { entry: "e:", tag: "t:", lock: "l:" } as const;

/** The cache the wrappers use. Replaced as a whole by `initCache`. */
export class CacheContext {
  readonly settings: ContextSettings;
  readonly store: CacheStore;
  readonly namespace: string;
  readonly inflight: Map<string, Flight> = new Map();
  readonly #background = new Set<Promise<unknown>>();
  readonly #breaker: CircuitBreaker;
  readonly #deadlines: Deadlines;
  readonly #warned = new Set<string>();
  readonly #namedTtls = new Map<string, number>();
  readonly #decoded = new Map<string, Entry>();
  #lastErrorLog = -Infinity;
  #suppressedErrors = 0;

  constructor(settings: ContextSettings) {
    this.settings = settings;
    this.store = settings.store;
    this.namespace = `${settings.prefix}:${settings.version}:`;
    this.#breaker = new CircuitBreaker(settings.breakerThreshold, settings.breakerCooldownMs, settings.clock);
    this.#deadlines = new Deadlines(settings.deadlineMs);
  }

  /**
   * Decodes an entry of an in-process store, remembering the last ~1000: the store hands back the very string
   * it was given, so a hot entry is parsed once and then copied per reader. Remote stores decode every time.
   */
  decode(raw: string): Entry | undefined {
    if (!this.store.capabilities.inProcess) return decodeEntry(raw);
    let entry = this.#decoded.get(raw);
    if (entry === undefined) {
      entry = decodeEntry(raw, true);
      if (entry === undefined) return undefined;
      if (this.#decoded.size >= DECODED_ENTRIES) this.#decoded.delete(this.#decoded.keys().next().value!);
      this.#decoded.set(raw, entry);
    }
    return entry;
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
    return key.length * 3 <= max ? key : fitKey(key, max);
  }

  /**
   * Runs one store call with the deadline and the breaker. Rejects with `StoreError` on failure, timeout or
   * an open breaker; callers decide what a failure means (a miss, a queued invalidation).
   */
  run<T>(op: string, call: (signal?: AbortSignal) => Promise<T>): Promise<T> {
    if (this.store.capabilities.inProcess) return call();
    if (!this.#breaker.allows()) {
      return Promise.reject(new StoreError(this.store.name, `${op} skipped: the circuit breaker is open`));
    }
    const started = performance.now();
    return this.#deadlines.bound(call, {
      expired: () =>
        this.#failed(
          op,
          new StoreError(this.store.name, `${op} got no answer within ${this.#deadlines.ms} ms`),
        ),
      succeeded: () => {
        this.#breaker.succeeded();
        metrics.time("cache.backend.ms", performance.now() - started);
      },
      failed: (error) =>
        this.#failed(
          op,
          error instanceof StoreError ? error : new StoreError(
            this.store.name,
            `${op} failed: ${this.redact(String((error as Error)?.message ?? error))}`,
            { cause: error },
          ),
        ),
    });
  }

  #failed(op: string, error: StoreError): StoreError {
    const wasOpen = this.#breaker.open;
    this.#breaker.failed();
    if (!wasOpen && this.#breaker.open) metrics.count("cache.breaker.open");
    this.reportError(`${op}: ${error.message}`);
    return error;
  }

  /**
   * Counts an error and logs it, at most once per interval: an outage is one log line, not one per call.
   */
  reportError(message: string): void {
    metrics.count("cache.error");
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

  /** Prints a debug line in the seed's format when debug is on. */
  debug(line: string): void {
    if (this.settings.debug) this.settings.logger.debug(line);
  }

  /** Keeps background work alive: handed to `waitUntil` when there is one, always awaited by `closeCache`. */
  background(promise: Promise<unknown>, waitUntil = this.settings.waitUntil): void {
    const tracked = promise.catch((error) => this.reportError(`background work failed: ${error}`))
      .finally(() => this.#background.delete(tracked));
    this.#background.add(tracked);
    waitUntil?.(tracked);
  }

  /** A random token for a tag version. */
  static token(): string {
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    let hex = "";
    for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
    return hex;
  }

  /**
   * Returns the versions of `tagKeys`, creating the missing ones (`ifAbsent`, so concurrent creators agree).
   * `observed` holds what the caller already read (`null` = missing). Called before a load starts, so the
   * versions an entry carries are never newer than its data.
   */
  async tagVersions(tagKeys: readonly string[], observed?: readonly (string | null)[]): Promise<string[]> {
    const versions = observed
      ? [...observed]
      : await this.run("read tags", (signal) => this.store.getMany(tagKeys, { signal }));
    const missing: number[] = [];
    for (let i = 0; i < tagKeys.length; i++) if (versions[i] === null) missing.push(i);
    if (missing.length > 0) {
      const writes = missing.map((i) => ({
        key: tagKeys[i],
        value: CacheContext.token(),
        ttlMs: this.settings.tagTtlMs,
        ifAbsent: true,
      }));
      const stored = await this.run("create tags", (signal) => this.store.setMany(writes, { signal }));
      const lost = missing.filter((_, j) => !stored[j]);
      const current = lost.length
        ? await this.run("read tags", (signal) => this.store.getMany(lost.map((i) => tagKeys[i]), { signal }))
        : [];
      missing.forEach((i, j) => versions[i] = stored[j] ? writes[j].value : null);
      lost.forEach((i, j) => versions[i] = current[j]);
    }
    // A tag that vanished again between the calls cannot vouch for an entry: use a version nobody holds.
    return versions.map((v) => v ?? `lost-${CacheContext.token()}`);
  }

  /** `true` when an invalidation of one of `tagKeys` has not reached the store yet. */
  hasPendingInvalidation(tagKeys: readonly string[]): boolean {
    if (pendingInvalidations.size === 0) return false;
    return tagKeys.some((k) => pendingInvalidations.has(k));
  }

  /**
   * Invalidates tags by writing a new version for each, in one store call. Resolves once stored or queued:
   * when the store cannot be reached the invalidation is retried in the background until it lands.
   */
  async invalidate(tags: readonly string[]): Promise<void> {
    const unique = [...new Set(tags)];
    if (unique.length === 0) return;
    const keys = await Promise.all(unique.map((tag) => this.tagKey(tag)));
    const writes = keys.map((key) => ({ key, value: CacheContext.token(), ttlMs: this.settings.tagTtlMs }));
    for (const [entryKey, flight] of this.inflight) {
      // A load that started before this invalidation must not be handed to later callers.
      if (flight.tagKeys.some((k) => keys.includes(k))) this.inflight.delete(entryKey);
    }
    metrics.count("cache.invalidate.count", undefined, unique.length);
    this.debug(`[INVALIDATE] key=tags=[${unique.map((t) => `'${t}'`).join(", ")}]`);
    await this.#write(writes);
  }

  /**
   * Invalidates single entries: each is overwritten with an empty tombstone (read as a miss) that expires
   * shortly, through the same queue as tags, so a backend outage delays it but never loses it.
   */
  async invalidateEntries(entryKeys: readonly string[]): Promise<void> {
    for (const key of entryKeys) this.inflight.delete(key);
    await this.#write(entryKeys.map((key) => ({ key, value: "", ttlMs: TOMBSTONE_MS })));
  }

  /** Stores invalidation writes, or queues them for retry when the store cannot be reached. */
  async #write(writes: StoreWrite[]): Promise<void> {
    for (const w of writes) pendingInvalidations.set(w.key, w);
    try {
      await this.run("invalidate", (signal) => this.store.setMany(writes, { signal }));
      for (const w of writes) if (pendingInvalidations.get(w.key) === w) pendingInvalidations.delete(w.key);
    } catch {
      scheduleRetry(0);
    }
    metrics.gauge("cache.invalidate.pending", pendingInvalidations.size);
  }

  /** Waits for background work and pending invalidations, at most `deadlineMs`; then releases the store. */
  async close(): Promise<void> {
    const deadline = new Promise((resolve) => {
      const timer = setTimeout(resolve, this.settings.deadlineMs);
      unref(timer);
    });
    await Promise.race([Promise.allSettled([...this.#background]), deadline]);
    if (pendingInvalidations.size > 0) await Promise.race([flushPending(), deadline]);
    stopRetry();
    await this.store.close?.();
  }
}

let active: CacheContext | undefined;

/** The active cache; the in-memory default when `initCache` was never called. */
export function activeCache(): CacheContext {
  return active ??= new CacheContext(defaultSettings({ store: memoryStore() }));
}

/** Makes `next` the active cache, returning the one it replaced. */
export function replaceActive(next: CacheContext): CacheContext | undefined {
  const previous = active;
  active = next;
  if (pendingInvalidations.size > 0) scheduleRetry(0);
  return previous;
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
    retryMaxMs: 500,
    secrets: [],
    ...given,
  };
}

async function flushPending(): Promise<boolean> {
  if (pendingInvalidations.size === 0) return true;
  const cache = activeCache();
  const writes = [...pendingInvalidations.values()];
  try {
    await cache.run("retry invalidation", (signal) => cache.store.setMany(writes, { signal }));
  } catch {
    return false;
  }
  for (const w of writes) if (pendingInvalidations.get(w.key) === w) pendingInvalidations.delete(w.key);
  metrics.gauge("cache.invalidate.pending", pendingInvalidations.size);
  if (pendingInvalidations.size === 0) {
    cache.settings.logger.info("[svc-infra/cache] pending invalidations stored");
  }
  return pendingInvalidations.size === 0;
}

function scheduleRetry(delayMs: number) {
  if (retryTimer !== undefined) return;
  retryDelayMs = Math.min(Math.max(delayMs, RETRY_MIN_MS), activeCache().settings.retryMaxMs);
  retryTimer = setTimeout(async () => {
    retryTimer = undefined;
    if (!(await flushPending())) scheduleRetry(retryDelayMs * 2);
  }, retryDelayMs);
  unref(retryTimer);
}

function stopRetry() {
  if (retryTimer !== undefined) clearTimeout(retryTimer);
  retryTimer = undefined;
}

/** Lets the process exit while a timer waits (Node and Deno timers both support it in some form). */
function unref(timer: unknown): void {
  const t = timer as { unref?: () => void };
  if (typeof t?.unref === "function") t.unref();
  else {
    const deno = (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno;
    if (typeof timer === "number") deno?.unrefTimer?.(timer);
  }
}
