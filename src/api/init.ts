/**
 * `initCache`, `closeCache`, `instance`, `invalidateTags` and metrics: the default cache's lifecycle and tools.
 *
 * @module
 */

import { storeTierOf } from "../tier/memory_peek.ts";
import { CacheContext, defaultSettings, type InvalidationResult } from "../engine/context.ts";
import { memoryStore } from "../store/memory_store.ts";
import type { Undelivered } from "../engine/invalidation_queue.ts";
import { activeCache, defaultState, replaceActive } from "./default_cache.ts";
import { type CacheOptions, openCache } from "./open.ts";
import { Cache } from "./cache.ts";
import type { Metrics } from "../observe/metrics.ts";
import { isName } from "../keys/name.ts";

/**
 * Configures the cache: backend, namespace, observability. Call it once at start-up; calling it again
 * reconfigures (of overlapping calls, the last one called). Functions wrapped before it use the new settings from their next call.
 *
 * @example
 * ```ts
 * import { initCache } from "@svc-infra/cache";
 * await initCache();                                   // in-memory
 * await initCache({ prefix: "myapp", version: "v2" }); // namespaced keys: myapp:v2:…
 * ```
 *
 * @throws {TypeError} a malformed option (unknown URL scheme, both `url` and `store`, bad prefix).
 * @throws {RangeError} a non-positive deadline or tag ttl, a malformed `CACHE_TTL_*` in `env`.
 */
export async function initCache(options: CacheOptions = {}): Promise<void> {
  const state = defaultState();
  const call = state.inits = (state.inits ?? 0) + 1;
  const { context, ownedStore, describe } = await openCache(
    options,
    "Cannot init cache",
    state.metrics,
    state.events,
  );
  if ((state.applied ?? 0) > call) {
    // A later initCache configured the cache while this one opened its store: it stays configured so.
    await context.close(ownedStore);
    return;
  }
  state.applied = call;
  const previousOwned = state.ownedStore;
  state.ownedStore = ownedStore;
  const previous = replaceActive(context);
  // Its queued invalidations belong to its store: delivered there now, or reported, never moved here.
  await previous?.close(previousOwned === context.store ? undefined : previousOwned);
  context.diagnostics.debug(describe);
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
  const state = defaultState();
  const cache = activeCache();
  const left = await cache.close(state.ownedStore);
  state.ownedStore = undefined;
  // Fresh, in memory.
  replaceActive(
    new CacheContext(defaultSettings({ store: memoryStore() }), {
      metrics: state.metrics,
      events: state.events,
      storeTier: storeTierOf,
    }),
  );
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
    if (!isName(tag)) {
      const hint = Array.isArray(tag) ? " (pass each tag as an argument: invalidateTags(...tags))" : "";
      throw new TypeError(
        `Cannot invalidate: tags must be non-empty, well-formed strings, current value is ${
          JSON.stringify(tag)
        }${hint}`,
      );
    }
  }
  return activeCache().invalidation.tags(tags);
}

/** The default cache as an instance: every method of {@linkcode Cache}, on the cache `initCache` configured. */
export type CacheInstance = Cache;

// Made on first use: an application that never asks for it does not ship the instance methods' code.
let defaultCache: Cache | undefined;

/**
 * Returns the default cache: the one `initCache` configures and the global functions use.
 *
 * @example
 * ```ts
 * import { instance } from "@svc-infra/cache";
 * const cache = instance();
 * await cache.set("greeting", "hello", { ttl: 60 });
 * const keys = await cache.keys("gree*");
 * console.log(keys, await cache.getMany(keys), await cache.get("greeting"));
 * ```
 */
export function instance(): Cache {
  return defaultCache ??= new Cache(activeCache, closeCache);
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
  return defaultState().metrics.snapshot();
}

/** Zeroes the counters, e.g. at the start of a measurement period or a test. */
export function resetMetrics(): void {
  defaultState().metrics.reset();
}
