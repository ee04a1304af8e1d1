/**
 * Hono middleware for `@svc-infra/cache`: cached responses, invalidation on writes, and a metrics route.
 * `hono` is a peer dependency; the core never imports it.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { cacheResponse, invalidateOnWrite, metricsHandler } from "@svc-infra/cache/hono";
 * const app = new Hono();
 * app.get("/users/:id", cacheResponse({ key: "user:{id}:http", tags: ["user:{id}"] }), (c) => c.json({ id: 1 }));
 * app.put("/users/:id", invalidateOnWrite({ tags: ["user:{id}"] }), (c) => c.json({ ok: true }));
 * app.get("/metrics", metricsHandler());
 * ```
 *
 * @module
 */

export { cacheResponse, type CacheResponseOptions } from "./cache_response.ts";
export { invalidateOnWrite, type InvalidateOnWriteOptions } from "./invalidate_on_write.ts";
export { metricsHandler } from "./metrics_handler.ts";
export type { ContextFunction, HonoContext, HonoMiddleware, HonoRequestView } from "./types.ts";
// The types these signatures mention, so this entry documents on its own. Hono's own types are not among them:
// its `Context` satisfies `HonoContext`.
export type { Ttl, TtlName } from "../base/ttl.ts";
export type { CachedArgs, CachedFunction, MethodContext } from "../api/cache_read.ts";
export type { CallOptions, Loader, LockOptions, ReadOptions, ReadResult } from "../read/options.ts";
export type { InvalidationResult } from "../engine/context.ts";
export type { WaitUntil, WaitUntilOption } from "../base/wait_until.ts";
export type {
  RecacheOptions,
  RecacheSpec,
  WriteCallOptions,
  WriteFunction,
  WriteOptions,
} from "../api/cache_write.ts";
export type { Cache, GetOrSetOptions, InvalidateOptions, SetOptions } from "../api/cache.ts";
export type { GetOrSetManyOptions, ManyLoader } from "../read/get_or_set_many.ts";
export type { EntryShape } from "../load/entry_write.ts";
export type { Resource, ResourceReadOptions } from "../api/resource.ts";
export type { Metrics } from "../observe/metrics.ts";
export type { CacheEvent, CacheEventListener, CacheEventType } from "../observe/events.ts";
export type { Undelivered } from "../engine/invalidation_queue.ts";
export type { Placeholders, TemplateArg } from "../keys/template.ts";
export type { TagsOption } from "../keys/tags.ts";
export type { SchemaIssue, SchemaResult, StandardSchemaV1 } from "../read/schema.ts";
export type { LoaderContext, StaleEntry } from "../load/loader_context.ts";
export type { Clock } from "../base/clock.ts";
export type * from "../store/store.ts";
