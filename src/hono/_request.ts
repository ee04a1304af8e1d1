/**
 * Request helpers shared by the Hono middleware.
 *
 * @module
 */

import type { HonoContext as Context } from "./types.ts";
import type { WaitUntilOption } from "../base/wait_until.ts";

/** What Hono's request has besides {@linkcode Context}'s view: which matched route is running. */
interface RoutedRequest {
  routeIndex?: number;
  readonly matchedRoutes?: readonly unknown[];
}

/**
 * Route params and query values, for rendering key and tag templates (params win). Mounted with `app.use`, a
 * middleware runs before the route that answers, and `param()` gives its own route's params (none for
 * `"/users/*"`): the params of every route the request matched are read, Hono's `routeIndex` pointed at each
 * in turn, so the answering route's `:id` is known before its handler runs.
 */
export function requestFields(c: Context): Record<string, string> {
  const req = c.req as Context["req"] & RoutedRequest;
  const own = req.param();
  const index = req.routeIndex;
  const matched = typeof index === "number" ? req.matchedRoutes?.length ?? 0 : 0;
  if (matched <= 1) return { ...req.query(), ...own };
  const params: Record<string, string> = {};
  try {
    for (let i = 0; i < matched; i++) {
      req.routeIndex = i;
      Object.assign(params, req.param());
    }
  } finally {
    req.routeIndex = index;
  }
  return { ...req.query(), ...params, ...own };
}

/** The platform's execution context (Workers, Vercel, …); `undefined` where `executionCtx` throws (Deno, Node). */
export function executionCtxOf(c: Context): WaitUntilOption | undefined {
  try {
    const ctx = c.executionCtx;
    return typeof ctx?.waitUntil === "function" ? ctx : undefined;
  } catch {
    return undefined;
  }
}
