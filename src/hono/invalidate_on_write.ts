/**
 * `invalidateOnWrite()`: Hono middleware for mutating routes: after a 2xx response it invalidates tags rendered
 * from the route's params and query, then optionally recaches.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { compileTemplate, renderTemplate } from "../keys.ts";
import { activeCache } from "../default_cache.ts";
import { recacheAll, type RecacheSpec } from "../write.ts";
import { executionCtxOf, requestFields } from "./_request.ts";

/** Options of {@linkcode invalidateOnWrite}. */
export interface InvalidateOnWriteOptions {
  /** Templates over params and query (`"user:{id}"`), or a function of the context. */
  tags: readonly string[] | ((c: Context) => readonly string[]);
  /** Readers warmed afterwards with the params and query; through `executionCtx.waitUntil` where there is one. */
  recache?: readonly RecacheSpec<Record<string, string>>[];
}

/**
 * Invalidates tags after a successful (2xx) mutating request; safe methods and failed requests touch nothing.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { invalidateOnWrite } from "@svc-infra/cache/hono";
 * const app = new Hono();
 * app.put("/users/:id", invalidateOnWrite({ tags: ["user:{id}"] }), (c) => c.json({ ok: true }));
 * await app.request("/users/1", { method: "PUT" });
 * ```
 */
export function invalidateOnWrite(options: InvalidateOnWriteOptions): MiddlewareHandler {
  const name = "invalidateOnWrite";
  if (typeof options?.tags !== "function" && !Array.isArray(options?.tags)) {
    throw new TypeError(
      `Cannot create ${name}: tags must be an array of templates or a function of the context`,
    );
  }
  const templates = Array.isArray(options.tags) ? options.tags.map((t) => compileTemplate(t, name)) : [];
  return async function invalidateOnWrite(c, next) {
    await next();
    const method = c.req.method;
    if (method === "GET" || method === "HEAD" || method === "OPTIONS") return;
    if (c.res.status < 200 || c.res.status >= 300) return;
    const fields = requestFields(c);
    const tags = typeof options.tags === "function"
      ? [...options.tags(c)]
      : templates.map((t) => renderTemplate(t, fields, name));
    const cache = activeCache();
    await cache.invalidate(tags);
    await recacheAll(cache, options.recache ?? [], fields, cache.waitUntilOf(executionCtxOf(c)));
  };
}
