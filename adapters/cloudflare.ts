/**
 * Cloudflare's own primitives as the cache's shared store, for Workers:
 * - {@linkcode durableObjectStore}: every key in a Durable Object ({@linkcode CacheObject}, exported from your
 *   Worker): strongly consistent and transactional, so the cache keeps its rule exactly as on Redis;
 * - {@linkcode cloudflareStore}: entry bodies in Workers KV (cheap global reads), their versions, claims and
 *   locks in the Durable Object, which judges every body KV returns: KV's delay costs misses, never stale reads;
 * - {@linkcode cacheApiTier}: Hono responses kept per data center in the Cache API, served while younger than a
 *   bound you choose (the Cache API cannot hear invalidations made elsewhere: the tier bounds the rule).
 *
 * @example
 * ```ts ignore
 * import { initCache } from "@svc-infra/cache";
 * import { durableObjectStore } from "@svc-infra/cache/adapters/cloudflare";
 * export { CacheObject } from "@svc-infra/cache/adapters/cloudflare";
 * let ready: Promise<void> | undefined;
 * export default {
 *   async fetch(request: Request, env: { CACHE: DurableObjectNamespace }) {
 *     await (ready ??= initCache({ store: durableObjectStore(env.CACHE) }));
 *     return new Response("ok");
 *   },
 * };
 * ```
 *
 * @module
 */

export {
  CacheObject,
  type DurableObjectNamespaceLike,
  type DurableObjectStateLike,
  durableObjectStore,
  type DurableObjectStoreOptions,
  type DurableObjectStubLike,
} from "./durable_object.ts";
export { cloudflareStore, type CloudflareStoreOptions, type KvNamespaceLike } from "./cloudflare_kv.ts";
export {
  type CacheApiContext,
  cacheApiTier,
  type CacheApiTierOptions,
  type CacheLike,
  purgeCacheApi,
} from "./cloudflare_cache_api.ts";
export * from "../src/store/store.ts"; // the store contract (types only): what a custom store implements
export type { Clock } from "../src/base/clock.ts";
