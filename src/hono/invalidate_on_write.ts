/**
 * `invalidateOnWrite()`: Hono middleware for mutating routes: after a 2xx response it invalidates tags rendered
 * from the route's params and query, then optionally recaches. Templates are rendered before the handler runs,
 * as `cacheWrite` renders them before the write: a write whose invalidation cannot be rendered must not happen.
 *
 * @module
 */

import { compileTemplate, renderTemplate } from "../keys/template.ts";
import type { Cache } from "../api/cache.ts";
import { CONTEXT } from "../api/engine_of.ts";
import { instance } from "../api/init.ts";
import { checkOptions } from "../api/option_names.ts";
import { checkRecacheSpecs, recacheAll, type RecacheSpec } from "../api/cache_write.ts";
import { executionCtxOf, requestFields } from "./_request.ts";
import type { ContextFunction, HonoContext, HonoMiddleware } from "./types.ts";

/** Options of {@linkcode invalidateOnWrite}. */
export interface InvalidateOnWriteOptions {
  /**
   * Templates over params and query (`"user:{id}"`), rendered before the handler runs (with the answering
   * route's params also when mounted with `app.use`); or a function of the context, called after it (so it may
   * read what the handler set).
   */
  tags: readonly string[] | ContextFunction<readonly string[]>;
  /** Readers warmed afterwards with the params and query; through `executionCtx.waitUntil` where there is one. */
  recache?: readonly RecacheSpec<Record<string, string>>[];
  /** The cache whose tags are invalidated: one from `createCache`. @default {instance()} */
  cache?: Cache;
}

/** Every option name of {@linkcode InvalidateOnWriteOptions}; the compiler keeps the list complete. */
const OPTION_NAMES = Object.keys(
  { tags: 1, recache: 1, cache: 1 } satisfies Record<keyof InvalidateOnWriteOptions, 1>,
);

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
 *
 * @throws {TypeError} an unknown option (naming the closest known one), missing or malformed `tags` or
 * `recache`, a `cache` that is not one. When the request lacks a parameter a template names, the handler does
 * not run and the request fails with a `TypeError`.
 */
export function invalidateOnWrite(options: InvalidateOnWriteOptions): HonoMiddleware {
  const name = "invalidateOnWrite";
  checkOptions(options, OPTION_NAMES, `Cannot create ${name}`);
  const specs = checkRecacheSpecs(options.recache, `Cannot create ${name}`);
  if (typeof options.tags !== "function" && !Array.isArray(options.tags)) {
    throw new TypeError(
      `Cannot create ${name}: tags must be an array of templates or a function of the context`,
    );
  }
  const cache = options.cache ?? instance();
  if (typeof cache?.[CONTEXT] !== "function") {
    throw new TypeError(
      `Cannot create ${name}: cache must be a cache from createCache, current value is ${cache}`,
    );
  }
  const templates = Array.isArray(options.tags) ? options.tags.map((t) => compileTemplate(t, name)) : [];
  return async function invalidateOnWrite(c: HonoContext, next: () => Promise<void>): Promise<void> {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD" || method === "OPTIONS") return await next();
    const fields = requestFields(c);
    const rendered = templates.map((t) => renderTemplate(t, fields, name, true));
    await next();
    const status = c.res?.status ?? 0;
    if (status < 200 || status >= 300) return;
    const tags = typeof options.tags === "function" ? [...options.tags(c)] : rendered;
    await cache.invalidateTags(tags);
    const context = cache[CONTEXT]();
    await recacheAll(context, specs, fields, context.work.waitUntilOf(executionCtxOf(c)));
  };
}
