/**
 * Options of cached reads, shared by the wrapper (`api/cache_read.ts`) and the engine (`read/reader.ts`).
 *
 * @module
 */

import type { WaitUntilOption } from "../base/wait_until.ts";
import type { TagsOption } from "../keys/tags.ts";
import type { Ttl } from "../base/ttl.ts";
import { optionNames } from "../api/option_names.ts";
import type { StandardSchemaV1 } from "./schema.ts";
import type { LoaderContext } from "../load/loader_context.ts";

/** Options of one call of a cached function (the optional second argument). */
export interface CallOptions {
  /**
   * Receives background work (early refresh, recache) so the platform keeps it alive after the response: a
   * function, or the object it belongs to (`waitUntil: ctx`).
   */
  waitUntil?: WaitUntilOption;
  /** Rejects this call when aborted; a load shared with other callers keeps running for them. */
  signal?: AbortSignal;
  /** Skips the cache read, runs the loader and stores its fresh value. */
  force?: boolean;
  /**
   * Told how the call was served (for HTTP layers: `X-Cache`, `Age`); not called when the call fails, nor for
   * a `ttl` of 0, which the cache does not serve.
   */
  onResult?: (result: ReadResult) => void;
}

/** Every option name of {@linkcode CallOptions}. */
export const CALL_OPTION_NAMES: readonly string[] = optionNames<CallOptions>({
  waitUntil: 1,
  signal: 1,
  force: 1,
  onResult: 1,
});

/** How a call was served. */
export interface ReadResult {
  /** `hit`: a fresh stored entry; `stale`: an entry in its grace window; `miss`: the loader's value. */
  readonly status: "hit" | "stale" | "miss";
  /** When the served value was stored or loaded (the cache's clock, ms since the epoch). */
  readonly createdAt: number;
  /** Until when it is fresh (ms since the epoch). */
  readonly freshUntil: number;
}

/** A distributed lock around loads, so that one process in a cluster loads a key at a time. */
export interface LockOptions {
  /** How long a lock holds; waiters load themselves after it. Cover a normal load. @default {10000} */
  ttlMs?: number;
  /** How often waiters look for the value. @default {50} */
  pollMs?: number;
}

/** Every option name of {@linkcode LockOptions}. */
export const LOCK_OPTION_NAMES: readonly string[] = optionNames<LockOptions>({ ttlMs: 1, pollMs: 1 });

/** Options of `cacheRead`. */
export interface ReadOptions<K extends string, A> {
  /** A template such as `"user:{userId}:profile"` (checked against the argument's type), or a function. */
  key: K | ((arg: A) => string);
  /** Seconds, or `"short" | "default" | "long"`; `0` disables caching. @default {"default"} (`CACHE_TTL_DEFAULT`) */
  ttl?: Ttl;
  /** Tags for invalidation: templates rendered from the argument, or a function of it. */
  tags?: TagsOption<A>;
  /** Spreads expiry: each entry's ttl is drawn from ttl ± 10 % when written. */
  smoothExpiry?: boolean;
  /**
   * Seconds after which a hit still returns the cached value but refreshes it in the background, once. Below a
   * numeric `ttl` (else a `RangeError`); one not below a named or default ttl, or a `ctx.setTtl`, is warned
   * once and never refreshes early.
   */
  earlyTtl?: number;
  /**
   * `"probabilistic"`: refresh early at random, more likely as expiry nears and the slower the load
   * (XFetch), so refreshes of many keys spread out instead of landing together.
   */
  earlyRefresh?: "probabilistic";
  /** XFetch's β: above 1 refreshes earlier, below 1 later. @default {1} */
  beta?: number;
  /**
   * Seconds an entry stays usable after its ttl (grace). In that window a hit returns the stale value and
   * refreshes it in the background; when the refresh fails the stale value keeps being served. A
   * hard-invalidated entry is never served; a softly invalidated one is served stale within this window.
   */
  staleTtl?: number;
  /** In the stale window, wait this long for the refresh before serving the stale value. @default {0} */
  timeoutMs?: number;
  /** Fail a call whose load takes longer with `CacheTimeoutError` (the load still completes and is stored). */
  hardTimeoutMs?: number;
  /** After a failed background refresh, wait this long before trying again. @default {10000} */
  refreshBackoffMs?: number;
  /**
   * Hits served from a kept decoding (the in-process store, L1, a hot key's remembered entry) return one deep-frozen value shared by every caller, with no per-hit copy
   * (mutating it throws in strict mode). Plain JSON values only; others are still copied.
   */
  zeroCopy?: boolean;
  /** Load once per cluster instead of once per process (`SET NX PX` / versionstamp). @default {initCache's lock} */
  lock?: boolean | LockOptions;
  /** `false` keeps this function's entries out of the two-level cache's L1 (see `initCache`'s `l1`). */
  l1?: boolean;
  /** Name in logs, metrics and errors. @default {the function's name, else the key template} */
  name?: string;
  /**
   * A Standard Schema (zod, valibot, arktype …) every value is checked against, stored or loaded; callers get
   * its output. A stored value that fails is a miss (counted as `cache.schema.rejected`, logged at most once
   * per interval) and is loaded afresh; a loaded one that fails is a `TypeError` (`SchemaError`, with the
   * issues) and is not cached. Asynchronous validators are awaited. Negative results are not checked.
   */
  schema?: StandardSchemaV1;
}

/**
 * A loader: one object argument (or none), returning a value or a promise of one. Its second argument, which
 * one-argument loaders need not declare, is the load's {@linkcode LoaderContext}.
 */
export type Loader<A, R> = (this: never, arg: A, ctx: LoaderContext) => R | Promise<R>;

/** Every option name of {@linkcode ReadOptions}. */
export const READ_OPTION_NAMES: readonly string[] = optionNames<ReadOptions<string, unknown>>({
  key: 1,
  ttl: 1,
  tags: 1,
  smoothExpiry: 1,
  earlyTtl: 1,
  earlyRefresh: 1,
  beta: 1,
  staleTtl: 1,
  timeoutMs: 1,
  hardTimeoutMs: 1,
  refreshBackoffMs: 1,
  zeroCopy: 1,
  lock: 1,
  l1: 1,
  name: 1,
  schema: 1,
});

/** Throws `TypeError` unless `loader` is a function; `context` starts the message ("Cannot cache …"). */
export function checkLoader(loader: unknown, context: string): void {
  if (typeof loader !== "function") {
    throw new TypeError(`${context}: expected a loader function, current value is ${typeof loader}`);
  }
}
