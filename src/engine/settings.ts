/**
 * A cache's settings, resolved once when it opens from its options, the env and these defaults; every part of
 * the engine reads the few it needs from here.
 *
 * @module
 */

import type { CacheStore } from "../store/store.ts";
import { type Clock, systemClock } from "../base/clock.ts";
import { type Env, envFlag, readEnv } from "../base/env.ts";
import type { LockOptions } from "../read/options.ts";
import type { ValueTypes } from "../entry/codec.ts";
import type { WaitUntil } from "../base/wait_until.ts";

/** Where log lines go; `console` by default. */
export interface Logger {
  /** Debug lines (`CACHE_DEBUG`). */
  debug(message: string): void;
  /** Not used by the cache today; part of the console shape. */
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
