/**
 * From options to a cache: checks every option (unknown names, namespaces, numbers), opens the store a url
 * names, and builds the engine. Shared by `initCache` (the default cache) and `createCache` (instances).
 *
 * @module
 */

import { storeTierOf } from "../tier/memory_peek.ts";
import { CacheContext, defaultSettings, type Logger } from "../engine/context.ts";
import { toWaitUntil, type WaitUntilOption } from "../base/wait_until.ts";
import type { CacheStore } from "../store/store.ts";
import type { Clock } from "../base/clock.ts";
import { type Env, envFlag, readEnv } from "../base/env.ts";
import { memoryStore } from "../store/memory_store.ts";
import { storeFromUrl } from "../store/url.ts";
import { redactUrl, urlSecrets } from "../base/credentials.ts";
import type { MetricsRegistry } from "../observe/metrics.ts";
import type { CacheEvents } from "../observe/events.ts";
import type { ValueTypes } from "../entry/codec.ts";
import type { LockOptions } from "../read/options.ts";
import { checkLock } from "./cache_read.ts";
import { checkOptionNames, optionNames } from "./option_names.ts";
import { settledWithin } from "../base/timers.ts";
import { MAX_TTL_SECONDS, namedTtl, TTL_NAMES } from "../base/ttl.ts";
import { checkCount, checkPositive } from "../base/positive.ts";
import { checkParts } from "./check_parts.ts";
import {
  type CacheFeature,
  checkUnreadKeys,
  type IntegrityPlugin,
  type L1Plugin,
  MOVED_TO_FEATURES,
  pluggedFeature,
  type TelemetryPlugin,
} from "./features.ts";

/** Options of `initCache` and `createCache`. */
export interface CacheOptions {
  /** Backend URL: `memory:`, `redis(s)://…`, `https://…` or `upstash:` (Upstash), `denokv:[path]`; omitted → in-memory. */
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
  /**
   * Default `waitUntil` for background work (refresh, recache): a function, or the object it belongs to. On
   * Workers, the `waitUntil` of `"cloudflare:workers"` serves every request.
   */
  waitUntil?: WaitUntilOption;
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
  /**
   * Class-aware types for the serializer, so class instances round-trip instead of being refused:
   * `{ Money: [(v) => v instanceof Money && [v.cents], ([cents]) => new Money(cents)] }`.
   */
  types?: ValueTypes;
  /**
   * A two-level cache: entries of a remote store (Redis, Upstash, Deno KV) also kept in process memory, served
   * without a request while their last validation is younger than `maxStaleMs` (the staleness bound):
   * `l1: twoLevel({ maxStaleMs })` with `twoLevel` from `@svc-infra/cache/l1`. No effect on the in-memory store.
   */
  l1?: CacheFeature<"l1">;
  /**
   * Signed or encrypted entries, so that whoever can write the shared store cannot plant or read an entry:
   * `integrity: sealed({ signingKeys, encryptionKeys })` with `sealed` from `@svc-infra/cache/integrity`;
   * `sealed()` reads the keys from `CACHE_SIGNING_KEYS` and `CACHE_ENCRYPTION_KEYS` (a Worker's secrets).
   */
  integrity?: CacheFeature<"integrity">;
  /**
   * OpenTelemetry metrics and spans: `telemetry: otel()` (the global meter and tracer of
   * `@opentelemetry/api`) or `otel({ meter, tracer, spans })`, with `otel` from `@svc-infra/cache/telemetry`.
   * See docs/observability.md for the instruments.
   */
  telemetry?: CacheFeature<"telemetry">;
  /** Time source, for tests. */
  clock?: Clock;
  /** Random source in [0, 1) for jitter, for tests. */
  random?: () => number;
}

/** Every option name of {@linkcode CacheOptions}. */
const CACHE_OPTION_NAMES = optionNames<CacheOptions>({
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
  types: 1,
  l1: 1,
  integrity: 1,
  telemetry: 1,
  clock: 1,
  random: 1,
});

/** Options of a cached function, of a store or of a feature, mistaken for the cache's: where they go. */
const MISPLACED: Readonly<Record<string, string>> = {
  ttl: "a ttl is set per cached function (cacheRead({ ttl }), cache.getOrSet(key, loader, { ttl })); " +
    "their default is CACHE_TTL_DEFAULT in the environment",
  staleTtl: "staleTtl is set per cached function (cacheRead({ staleTtl }))",
  tags: "tags are set per cached function (cacheRead({ tags }))",
  maxEntries: "it is an option of the memory store (store: memoryStore({ maxEntries })) or of l1",
  maxBytes: "it is an option of the memory store (store: memoryStore({ maxBytes })) or of l1",
  ...MOVED_TO_FEATURES,
};

const NAMESPACE_PART = /^[A-Za-z0-9_.-]+$/;

/** A cache built from options. */
export interface OpenedCache {
  readonly context: CacheContext;
  /** The store the options' url opened (the cache closes it), `undefined` for a store given as `store`. */
  readonly ownedStore?: CacheStore;
  /** The `[INIT]` debug line. */
  readonly describe: string;
}

/**
 * Checks `options` and builds a cache with `metrics` and `events` as its own; `what` starts error messages
 * ("Cannot init cache").
 */
export async function openCache(
  options: CacheOptions,
  what: string,
  metrics: MetricsRegistry,
  events: CacheEvents,
): Promise<OpenedCache> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`${what}: expected an options object`);
  }
  // A cache's l1 is the feature (twoLevel()), checked below; the name table reads l1 as a read's flag.
  const { l1: _feature, ...named } = options;
  checkOptionNames(named, CACHE_OPTION_NAMES, what, MISPLACED);
  if (options.url !== undefined && (typeof options.url !== "string" || options.url.trim() === "")) {
    throw new TypeError(
      `${what}: url must be a non-empty string (omit it for the in-memory cache), current value is ${
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
        `${what}: ${name} must match ${NAMESPACE_PART} (letters, digits, "_", ".", "-"), current value is ${
          JSON.stringify(value)
        }`,
      );
    }
  }
  if (options.url !== undefined && options.store !== undefined) {
    throw new TypeError(`${what}: give either url or store, not both`);
  }
  checkLock(options.lock, what);
  const l1Feature = pluggedFeature<L1Plugin>(options.l1, "l1", what);
  const integrity = pluggedFeature<IntegrityPlugin>(options.integrity, "integrity", what);
  const telemetry = pluggedFeature<TelemetryPlugin>(options.telemetry, "telemetry", what);
  checkUnreadKeys(integrity, env, what);
  // A malformed CACHE_TTL_* fails here, not in every later call that omits its ttl or names one.
  for (const name of TTL_NAMES) namedTtl(name, env);
  checkPositive(what, "deadlineMs", options.deadlineMs);
  checkPositive(what, "tagTtl", options.tagTtl);
  if (options.tagTtl !== undefined && options.tagTtl > MAX_TTL_SECONDS) {
    throw new RangeError(
      `${what}: tagTtl must be at most ${MAX_TTL_SECONDS} seconds (what every store honours), current value is ${options.tagTtl}`,
    );
  }
  checkCount(what, "breakerThreshold", options.breakerThreshold);
  checkPositive(what, "breakerCooldownMs", options.breakerCooldownMs);
  checkPositive(what, "retryMaxMs", options.retryMaxMs);
  checkPositive(what, "errorLogIntervalMs", options.errorLogIntervalMs);
  checkCount(what, "maxPendingInvalidations", options.maxPendingInvalidations);
  checkParts(options, what);
  // Each feature checks its options, and integrity and telemetry find their keys and instruments, before a
  // connection opens.
  const l1 = l1Feature?.open(what);
  const seal = await integrity?.open(what, env);
  const telemetryOf = await telemetry?.open(what);
  const base = defaultSettings({ store: memoryStore(), env });
  const clock = options.clock ?? base.clock;
  const deadlineMs = options.deadlineMs ?? base.deadlineMs;
  const url = options.url;
  const secrets = [...(url ? urlSecrets(url) : []), ...(options.token ? [options.token] : [])];
  let store = options.store;
  let owned = false;
  if (!store) {
    owned = true;
    store = url
      ? await storeFromUrl(url, { token: options.token, clock, env, deadlineMs })
      : memoryStore({ clock });
  }
  if (seal) {
    // It remembers what opened for as many entries as L1 holds, or as many as the memory store's default.
    const remembered = { maxEntries: l1?.maxEntries, maxBytes: l1?.maxBytes };
    store = seal(store, () => metrics.count("cache.integrity.rejected"), remembered);
  }
  const next = new CacheContext(
    {
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
      deadlineMs,
      tagTtlMs: options.tagTtl !== undefined ? options.tagTtl * 1000 : base.tagTtlMs,
      waitUntil: toWaitUntil(options.waitUntil),
      lock: options.lock,
      breakerThreshold: options.breakerThreshold ?? base.breakerThreshold,
      breakerCooldownMs: options.breakerCooldownMs ?? base.breakerCooldownMs,
      errorLogIntervalMs: options.errorLogIntervalMs ?? base.errorLogIntervalMs,
      retryMaxMs: options.retryMaxMs ?? base.retryMaxMs,
      maxPendingInvalidations: options.maxPendingInvalidations ?? base.maxPendingInvalidations,
      types: options.types,
    },
    {
      metrics,
      events,
      telemetry: telemetryOf?.(store.name),
      l1: l1 && ((cache) => l1.tier(cache)),
      storeTier: storeTierOf,
    },
  );
  // Opening waits one deadline, for the first connection and for L1's subscription (so early invalidations are
  // heard) together. A store that failed to connect starts with the breaker open; one still connecting is used
  // as soon as it is up (calls wait for it within their own deadlines).
  const [ready] = await Promise.all([
    store.ready && settledWithin(store.ready(), deadlineMs),
    next.l1 && settledWithin(next.l1.pushReady, deadlineMs),
  ]);
  if (typeof ready === "string") next.guarded.unreachableAtStart(ready);
  metrics.detailed = options.metrics ?? envFlag("CACHE_METRICS", env);
  const describe = `[INIT] store=${store.name} namespace=${prefix}:${version}${
    url ? ` url=${redactUrl(url)}` : ""
  }`;
  return { context: next, ownedStore: owned ? store : undefined, describe };
}
