/**
 * One-button caching for async TypeScript, edge-runtime first.
 *
 * @example The seed's resource pattern
 * ```ts
 * import { initCache, resource, TTL_LONG } from "@svc-infra/cache";
 * await initCache({ prefix: "myapp", version: "v1" });
 * const user = resource("user", "userId");
 * const getUserProfile = user.cacheRead({ suffix: "profile", ttl: TTL_LONG, smoothExpiry: true },
 *   async ({ userId }: { userId: number }) => ({ userId, name: "John Doe" }));
 * const updateUserProfile = user.cacheWrite(async ({ userId }: { userId: number; data: object }) => userId);
 * await getUserProfile({ userId: 1 }); // miss: loads
 * await getUserProfile({ userId: 1 }); // hit
 * await updateUserProfile({ userId: 1, data: {} }); // invalidates tag user:1
 * ```
 *
 * @module
 */

export { closeCache, getMetrics, initCache, instance, invalidateTags, resetMetrics } from "./src/api/init.ts";
export { prometheusMetrics } from "./src/observe/prometheus.ts";
export type { CacheInstance } from "./src/api/init.ts";
export type { CacheOptions } from "./src/api/open.ts";
// Features (l1, integrity, telemetry) are made by their own entry points; their option types live there.
export type { CacheFeature, FeatureName } from "./src/api/features.ts";
export { Cache } from "./src/api/cache.ts";
export { createCache } from "./src/api/create_cache.ts";
export type { GetOrSetOptions, InvalidateOptions, SetOptions } from "./src/api/cache.ts";
export type { GetOrSetManyOptions, ManyLoader } from "./src/read/get_or_set_many.ts";
export type { EntryShape } from "./src/load/entry_write.ts";
export type { ValueTypes } from "./src/entry/codec.ts";
export { cacheRead } from "./src/api/cache_read.ts";
export type { CachedArgs, CachedFunction, MethodContext } from "./src/api/cache_read.ts";
export type { CallOptions, Loader, LockOptions, ReadOptions, ReadResult } from "./src/read/options.ts";
export { cacheWrite, recache } from "./src/api/cache_write.ts";
export type {
  RecacheOptions,
  RecacheSpec,
  WriteCallOptions,
  WriteFunction,
  WriteOptions,
} from "./src/api/cache_write.ts";
export { resource } from "./src/api/resource.ts";
export type { Resource, ResourceReadOptions } from "./src/api/resource.ts";
export { isNegativeCacheResult, negativeCache, unwrapNegativeCacheResult } from "./src/entry/negative.ts";
export type { NegativeCacheOptions, NegativeCacheResult } from "./src/entry/negative.ts";
export { NEGATIVE_BRAND } from "./src/entry/negative.ts";
export type { TagsOption } from "./src/keys/tags.ts";
export { TTL_DEFAULT, TTL_LONG, TTL_SHORT } from "./src/base/ttl.ts";
export type { Ttl, TtlName } from "./src/base/ttl.ts";
export { CacheTimeoutError, StoreError } from "./src/base/errors.ts";
export { SchemaError } from "./src/read/schema.ts";
export type { SchemaIssue, SchemaResult, StandardSchemaV1 } from "./src/read/schema.ts";
export type { LoaderContext, StaleEntry } from "./src/load/loader_context.ts";
export * from "./src/store/store.ts"; // the store contract (types only): what a custom store implements
export type { InvalidationResult, Logger } from "./src/engine/context.ts";
export type { WaitUntil, WaitUntilOption } from "./src/base/wait_until.ts";
export type { Undelivered } from "./src/engine/invalidation_queue.ts";
export type { Clock } from "./src/base/clock.ts";
export type { Env } from "./src/base/env.ts";
export type { Metrics } from "./src/observe/metrics.ts";
export type { CacheEvent, CacheEventListener, CacheEventType } from "./src/observe/events.ts";
export type { Placeholders, TemplateArg } from "./src/keys/template.ts";
