/**
 * `initCache`, `closeCache`, `instance`, `invalidateTags` and metrics: the cache's lifecycle and tools.
 *
 * @module
 */

import {
  activeCache,
  CacheContext,
  defaultSettings,
  type InvalidationResult,
  type Logger,
  metrics,
  replaceActive,
  type WaitUntil,
} from "./context.ts";
import type { Undelivered } from "./invalidation_queue.ts";
import type { CacheStore } from "./store.ts";
import type { Clock } from "./clock.ts";
import { type Env, envFlag, readEnv } from "./env.ts";
import { memoryStore } from "./memory_store.ts";
import { redactUrl, storeFromUrl, urlSecrets } from "./url.ts";
import { decodeEntry } from "./entry.ts";
import { revive } from "./codec.ts";
import type { Metrics } from "./metrics.ts";
import type { LockOptions } from "./read_options.ts";
import { checkLock } from "./read.ts";
import { checkOptionNames } from "./option_names.ts";

/** Options of {@linkcode initCache}. */
export interface CacheOptions {
  /** Backend URL: `memory:`; omitted → in-memory. */
  url?: string;
  /** Token for token-authenticated backends. */
  token?: string;
  /** A store instance (an adapter), instead of `url`. */
  store?: CacheStore;
  /** First namespace part. @default {CACHE_PREFIX or "svc"} */
  prefix?: string;
  /** Second namespace part; bump it to start from an empty cache. @default {CACHE_VERSION or "v1"} */
  version?: string;
  /** Where `CACHE_*` settings are read from (a Worker's env); the runtime's environment when omitted. */
  env?: Env;
  /** Debug lines in the seed's format. @default {CACHE_DEBUG} */
  debug?: boolean;
  /** Per-function counters and latencies. @default {CACHE_METRICS} */
  metrics?: boolean;
  /** Where log lines go. @default {console} */
  logger?: Logger;
  /** Deadline of every backend call in milliseconds. @default {1000} */
  deadlineMs?: number;
  /** Lifetime of tag versions in seconds; keep it above your longest ttl. @default {2592000} (30 days) */
  tagTtl?: number;
  /** Default `waitUntil` for background work (refresh, recache). */
  waitUntil?: WaitUntil;
  /** Default of every read's `lock`: load once per cluster instead of once per process. @default {false} */
  lock?: boolean | LockOptions;
  /** Consecutive backend failures that open the circuit breaker. @default {5} */
  breakerThreshold?: number;
  /** Milliseconds the breaker stays open before one probe call. @default {1000} */
  breakerCooldownMs?: number;
  /** Shortest interval between two logged backend errors. @default {30000} */
  errorLogIntervalMs?: number;
  /**
   * Longest wait between two retries of an invalidation that could not reach the backend (retries start at
   * 25 ms and double; they bypass the breaker). It bounds how soon after recovery a queued invalidation
   * lands. @default {200}
   */
  retryMaxMs?: number;
  /**
   * Most keys (tag versions, entries) the queue of undelivered invalidations holds; past it they are replaced
   * by one invalidation of the whole namespace, which makes every entry a miss. @default {10000}
   */
  maxPendingInvalidations?: number;
  /** Time source, for tests. */
  clock?: Clock;
  /** Random source in [0, 1) for jitter, for tests. */
  random?: () => number;
}

/** Every option name of {@linkcode CacheOptions}; the compiler keeps the list complete. */
const CACHE_OPTION_NAMES = Object.keys(
  {
    url: 1,
    token: 1,
    store: 1,
    prefix: 1,
    version: 1,
    env: 1,
    debug: 1,
    metrics: 1,
    logger: 1,
    deadlineMs: 1,
    tagTtl: 1,
    waitUntil: 1,
    lock: 1,
    breakerThreshold: 1,
    breakerCooldownMs: 1,
    errorLogIntervalMs: 1,
    retryMaxMs: 1,
    maxPendingInvalidations: 1,
    clock: 1,
    random: 1,
  } satisfies Record<keyof CacheOptions, 1>,
);

let ownedStore: CacheStore | undefined;

const NAMESPACE_PART = /^[A-Za-z0-9_.-]+$/;

/**
 * Configures the cache: backend, namespace, observability. Call it once at start-up; calling it again
 * reconfigures. Functions wrapped before it use the new settings from their next call.
 *
 * @example
 * ```ts
 * import { initCache } from "@svc-infra/cache";
 * await initCache();                                   // in-memory
 * await initCache({ prefix: "myapp", version: "v2" }); // namespaced keys: myapp:v2:…
 * ```
 *
 * @throws {TypeError} a malformed option (unknown URL scheme, both `url` and `store`, bad prefix).
 * @throws {RangeError} a non-positive deadline or tag ttl.
 */
export async function initCache(options: CacheOptions = {}): Promise<void> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Cannot init cache: expected an options object");
  }
  checkOptionNames(options, CACHE_OPTION_NAMES, "Cannot init cache");
  if (options.url !== undefined && (typeof options.url !== "string" || options.url.trim() === "")) {
    throw new TypeError(
      `Cannot init cache: url must be a non-empty string (omit it for the in-memory cache), current value is ${
        JSON.stringify(options.url)
      }`,
    );
  }
  const env = options.env;
  const prefix = options.prefix ?? (readEnv("CACHE_PREFIX", env) || "svc");
  const version = options.version ?? (readEnv("CACHE_VERSION", env) || "v1");
  for (const [name, value] of [["prefix", prefix], ["version", version]]) {
    if (typeof value !== "string" || !NAMESPACE_PART.test(value)) {
      throw new TypeError(
        `Cannot init cache: ${name} must match ${NAMESPACE_PART} (letters, digits, "_", ".", "-"), current value is ${
          JSON.stringify(value)
        }`,
      );
    }
  }
  if (options.url !== undefined && options.store !== undefined) {
    throw new TypeError("Cannot init cache: give either url or store, not both");
  }
  checkLock(options.lock, "Cannot init cache");
  positive("deadlineMs", options.deadlineMs);
  positive("tagTtl", options.tagTtl);
  positive("breakerThreshold", options.breakerThreshold);
  positive("breakerCooldownMs", options.breakerCooldownMs);
  positive("retryMaxMs", options.retryMaxMs);
  positive("errorLogIntervalMs", options.errorLogIntervalMs);
  positive("maxPendingInvalidations", options.maxPendingInvalidations);
  const base = defaultSettings({ store: memoryStore(), env });
  const clock = options.clock ?? base.clock;
  const url = options.url;
  const secrets = [...(url ? urlSecrets(url) : []), ...(options.token ? [options.token] : [])];
  let store = options.store;
  let owned = false;
  if (!store) {
    owned = true;
    store = url ? await storeFromUrl(url, { token: options.token, clock, env }) : memoryStore({ clock });
  }
  const next = new CacheContext({
    ...base,
    store,
    prefix,
    version,
    env,
    clock,
    secrets,
    debug: options.debug ?? envFlag("CACHE_DEBUG", env),
    logger: options.logger ?? base.logger,
    random: options.random ?? base.random,
    deadlineMs: options.deadlineMs ?? base.deadlineMs,
    tagTtlMs: options.tagTtl !== undefined ? options.tagTtl * 1000 : base.tagTtlMs,
    waitUntil: options.waitUntil,
    lock: options.lock,
    breakerThreshold: options.breakerThreshold ?? base.breakerThreshold,
    breakerCooldownMs: options.breakerCooldownMs ?? base.breakerCooldownMs,
    errorLogIntervalMs: options.errorLogIntervalMs ?? base.errorLogIntervalMs,
    retryMaxMs: options.retryMaxMs ?? base.retryMaxMs,
    maxPendingInvalidations: options.maxPendingInvalidations ?? base.maxPendingInvalidations,
  });
  const ready = await store.ready?.();
  if (ready !== undefined && ready !== true) next.unreachableAtStart(ready);
  metrics.detailed = options.metrics ?? envFlag("CACHE_METRICS", env);
  const previousOwned = ownedStore;
  ownedStore = owned ? store : undefined;
  const previous = replaceActive(next);
  // Its queued invalidations belong to its store: delivered there now, or reported, never moved here.
  await previous?.drain();
  if (previousOwned && previousOwned !== store) await previousOwned.close?.().catch(() => {});
  next.debug(
    `[INIT] store=${store.name} namespace=${prefix}:${version}${url ? ` url=${redactUrl(url)}` : ""}`,
  );
}

function positive(name: string, value: number | undefined) {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new RangeError(`Cannot init cache: ${name} must be a positive number, current value is ${value}`);
  }
}

/**
 * Finishes background work and delivers queued invalidations (each within the deadline), then releases
 * connections. Resolves with what could not be delivered (also logged once): empty after a clean close.
 * Scripts that configured a remote backend call it before they end; servers need not. The next cache use
 * starts a fresh in-memory cache unless `initCache` runs again.
 *
 * @example
 * ```ts
 * import { closeCache } from "@svc-infra/cache";
 * const { keys, namespace } = await closeCache();
 * if (keys.length || namespace) console.error("some invalidations did not reach the cache");
 * ```
 */
export async function closeCache(): Promise<Undelivered> {
  const cache = activeCache();
  const left = await cache.close();
  ownedStore = undefined;
  replaceActive(new CacheContext(defaultSettings({ store: memoryStore() })));
  return left;
}

/**
 * Invalidates tags by hand. Resolves with `delivered: true` once the store has it, or `delivered: false`
 * when the backend cannot be reached and it is queued for retry (this process then serves no entry of those
 * tags until it lands; `landed` settles then).
 *
 * @example
 * ```ts
 * import { invalidateTags } from "@svc-infra/cache";
 * const { delivered } = await invalidateTags("user:1", "posts");
 * ```
 */
export function invalidateTags(...tags: string[]): Promise<InvalidationResult> {
  for (const tag of tags) {
    if (typeof tag !== "string" || tag === "" || !tag.isWellFormed()) {
      const hint = Array.isArray(tag) ? " (pass each tag as an argument: invalidateTags(...tags))" : "";
      throw new TypeError(
        `Cannot invalidate: tags must be non-empty strings, current value is ${JSON.stringify(tag)}${hint}`,
      );
    }
  }
  return activeCache().invalidate(tags);
}

/** The active cache, for inspection. */
export interface CacheInstance {
  /** The active store. */
  readonly store: CacheStore;
  /** `{prefix}:{version}:` */
  readonly namespace: string;
  /** Logical keys (without namespace) of stored entries matching a glob such as `"user:*"`. */
  keys(pattern?: string): Promise<string[]>;
  /** Stored values of logical keys (`undefined` when missing or expired; tag validity is not checked). */
  getMany(keys: readonly string[]): Promise<unknown[]>;
}

/**
 * Returns the active cache for inspection.
 *
 * @example
 * ```ts
 * import { instance } from "@svc-infra/cache";
 * const cache = instance();
 * const keys = await cache.keys("user:*");
 * console.log(keys, await cache.getMany(keys));
 * ```
 */
export function instance(): CacheInstance {
  const cache = activeCache();
  return {
    store: cache.store,
    namespace: cache.namespace,
    async keys(pattern = "*") {
      if (!cache.store.scan) {
        throw new TypeError(`Cannot list keys: the ${cache.store.name} store cannot scan`);
      }
      const matcher = globToRegExp(pattern);
      const found = await cache.run("scan", (signal) => cache.store.scan!(cache.entryPrefix, { signal }));
      return found.map((k) => cache.logicalKey(k)).filter((k) => matcher.test(k)).sort();
    },
    async getMany(keys) {
      const stored = await Promise.all(keys.map((k) => cache.entryKey(k)));
      const raws = await cache.run("read", (signal) => cache.store.getMany(stored, { signal }));
      const now = cache.settings.clock.now();
      return raws.map((raw) => {
        const entry = raw ? decodeEntry(raw) : undefined;
        if (!entry || now >= entry.staleUntil) return undefined;
        try {
          return revive(entry.parsed, entry.json);
        } catch {
          return undefined;
        }
      });
    },
  };
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
  return new RegExp(`^${body}$`);
}

/**
 * A snapshot of the counters: `cache.hit`, `cache.miss`, `cache.invalidate.count`, `cache.warm.ms` (average),
 * `cache.error` and more; per-function entries such as `cache.hit{fn="getUser"}` when metrics are on.
 *
 * @example
 * ```ts
 * import { getMetrics } from "@svc-infra/cache";
 * const m = getMetrics();
 * console.log(m["cache.hit"] / Math.max(1, m["cache.hit"] + m["cache.miss"]));
 * ```
 */
export function getMetrics(): Metrics {
  return metrics.snapshot();
}

/** Zeroes the counters, e.g. at the start of a measurement period or a test. */
export function resetMetrics(): void {
  metrics.reset();
}
