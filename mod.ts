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

export { closeCache, getMetrics, initCache, instance, invalidateTags, resetMetrics } from "./src/init.ts";
export { prometheusMetrics } from "./src/prometheus.ts";
export type { CacheInstance } from "./src/init.ts";
export type { CacheOptions } from "./src/open.ts";
// Features (l1, integrity, telemetry) are made by their own entry points; their option types live there.
export type { CacheFeature, FeatureName } from "./src/features.ts";
export { Cache } from "./src/cache.ts";
export { createCache } from "./src/create_cache.ts";
export type { GetOrSetOptions, InvalidateOptions, SetOptions } from "./src/cache.ts";
export type { GetOrSetManyOptions, ManyLoader } from "./src/many.ts";
export type { EntryShape } from "./src/entry_write.ts";
export type { ValueTypes } from "./src/codec.ts";
export { cacheRead } from "./src/read.ts";
export type { CachedArgs, CachedFunction, MethodContext } from "./src/read.ts";
export type { CallOptions, Loader, LockOptions, ReadOptions, ReadResult } from "./src/read_options.ts";
export { cacheWrite, recache } from "./src/write.ts";
export type {
  RecacheOptions,
  RecacheSpec,
  WriteCallOptions,
  WriteFunction,
  WriteOptions,
} from "./src/write.ts";
export { resource } from "./src/resource.ts";
export type { Resource, ResourceReadOptions } from "./src/resource.ts";
export { isNegativeCacheResult, negativeCache, unwrapNegativeCacheResult } from "./src/negative.ts";
export type { NegativeCacheOptions, NegativeCacheResult } from "./src/negative.ts";
export { NEGATIVE_BRAND } from "./src/negative.ts";
export type { TagsOption } from "./src/tags.ts";
export { TTL_DEFAULT, TTL_LONG, TTL_SHORT } from "./src/ttl.ts";
export type { Ttl, TtlName } from "./src/ttl.ts";
export { CacheTimeoutError, StoreError } from "./src/errors.ts";
export { SchemaError } from "./src/schema.ts";
export type { SchemaIssue, SchemaResult, StandardSchemaV1 } from "./src/schema.ts";
export type { LoaderContext, StaleEntry } from "./src/loader_context.ts";
export * from "./src/store.ts"; // the store contract (types only): what a custom store implements
export type { InvalidationResult, Logger } from "./src/context.ts";
export type { WaitUntil, WaitUntilOption } from "./src/wait_until.ts";
export type { Undelivered } from "./src/invalidation_queue.ts";
export type { Clock } from "./src/clock.ts";
export type { Env } from "./src/env.ts";
export type { Metrics } from "./src/metrics.ts";
export type { CacheEvent, CacheEventListener, CacheEventType } from "./src/events.ts";
export type { Placeholders, TemplateArg } from "./src/keys.ts";
