/**
 * The default cache: the one `initCache` configures and the global API (`cacheRead`, `invalidateTags`,
 * `getMetrics`, the Hono middleware) uses. Its state lives on `globalThis` under a registered symbol, so every
 * copy of the core in a process (the ESM and CommonJS builds may be mixed) shares one default cache.
 *
 * @module
 */

import { storeTierOf } from "../tier/memory_peek.ts";
import { CacheContext, defaultSettings } from "../engine/context.ts";
import { envFlag } from "../base/env.ts";
import { memoryStore } from "../store/memory_store.ts";
import { MetricsRegistry } from "../observe/metrics.ts";
import { CacheEvents } from "../observe/events.ts";
import type { CacheStore } from "../store/store.ts";

/** What the process holds for the default cache. */
interface DefaultState {
  active?: CacheContext;
  /** Counters and event listeners of the default cache, kept across `initCache` calls. */
  readonly metrics: MetricsRegistry;
  readonly events: CacheEvents;
  /** A store `initCache` created (from a url), closed when it is replaced. */
  ownedStore?: CacheStore;
  /**
   * Counts `initCache` calls, and which one configured the cache last: of overlapping ones, the last called
   * that succeeds wins, not the last to finish.
   */
  inits?: number;
  applied?: number;
}

const KEY = Symbol.for("@svc-infra/cache/default");

/** The process's default-cache state (created on first use). */
export function defaultState(): DefaultState {
  const holder = globalThis as unknown as { [KEY]?: DefaultState };
  return holder[KEY] ??= { metrics: new MetricsRegistry(), events: new CacheEvents() };
}

/** The default cache; an in-memory one when `initCache` was never called. */
export function activeCache(): CacheContext {
  const state = defaultState();
  if (state.active) return state.active;
  state.metrics.detailed = envFlag("CACHE_METRICS"); // read as CACHE_DEBUG is, with or without initCache
  state.active = new CacheContext(defaultSettings({ store: memoryStore() }), {
    metrics: state.metrics,
    events: state.events,
    storeTier: storeTierOf,
  });
  // Useful in tests, surprising in production: said once, in debug mode.
  state.active.diagnostics.debug(
    "[INIT] store=memory: a cached function ran before initCache; this in-memory cache is replaced, entries and all, when initCache runs",
  );
  return state.active;
}

/** Makes `next` the default cache, returning the one it replaced. */
export function replaceActive(next: CacheContext): CacheContext | undefined {
  const state = defaultState();
  const previous = state.active;
  state.active = next;
  next.metrics.gauge("cache.invalidate.pending", next.invalidation.pending);
  return previous;
}
