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
// The types these signatures mention, so this entry documents on its own (Hono's own types come from hono).
export type { Ttl, TtlName } from "../ttl.ts";
export type { CachedArgs, CachedFunction } from "../read.ts";
export type { CallOptions, ReadResult } from "../read_options.ts";
export type { InvalidationResult } from "../context.ts";
export type { WaitUntil, WaitUntilOption } from "../wait_until.ts";
export type { RecacheSpec } from "../write.ts";
