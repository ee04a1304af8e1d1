/**
 * The two-level cache: entries of a remote store (Redis, Upstash, Deno KV) also kept in process memory,
 * served without a request while their last validation is younger than `maxStaleMs` (the staleness bound).
 * Its code ships only with applications that import this entry point.
 *
 * @example
 * ```ts
 * import { createCache } from "@svc-infra/cache";
 * import { twoLevel } from "@svc-infra/cache/l1";
 *
 * const cache = await createCache({ l1: twoLevel({ maxStaleMs: 1000 }) });
 * await cache.close();
 * ```
 *
 * @module
 */

import type { CacheFeature, L1Plugin } from "../api/features.ts";
import { type L1Options, l1Settings } from "./options.ts";
import { L1Tier } from "./tier.ts";

export type { L1Options } from "./options.ts";
export type { CacheFeature, FeatureName } from "../api/features.ts";

/**
 * The `l1` option of `createCache` and `initCache`: a first level in process memory in front of a remote
 * store. Its options are checked when the cache opens.
 *
 * @example
 * ```ts
 * import { initCache, closeCache } from "@svc-infra/cache";
 * import { twoLevel } from "@svc-infra/cache/l1";
 *
 * await initCache({ l1: twoLevel({ maxStaleMs: 500, maxEntries: 50_000 }) });
 * await closeCache();
 * ```
 */
export function twoLevel(options: L1Options = {}): CacheFeature<"l1"> {
  const plugin: L1Plugin = {
    feature: "l1",
    open(what) {
      const settings = l1Settings(options, what);
      return { ...settings, tier: (cache) => new L1Tier(cache, settings) };
    },
  };
  return plugin;
}
