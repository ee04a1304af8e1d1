/**
 * How a cache instance is found from outside and how a namespace finds its engine.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";

/**
 * Where another entry point finds an instance's engine (`prometheusMetrics(cache)`); a registered symbol, so
 * that it works across the copies of the core in one process (the ESM and CommonJS builds may be mixed).
 */
export const CONTEXT: unique symbol = Symbol.for("@svc-infra/cache/context");

/**
 * A namespace's engine (`cache.namespace(name)`): the child of its parent's. The default cache's engine is
 * replaced by each `initCache`, so the child follows its parent, made once per parent engine.
 */
export function childEngine(parent: () => CacheContext, name: string): () => CacheContext {
  parent().child(name); // a bad name throws now, not at the first call
  let resolved: CacheContext | undefined, child: CacheContext | undefined;
  return () => {
    const current = parent();
    if (current !== resolved) child = (resolved = current).child(name);
    return child!;
  };
}
