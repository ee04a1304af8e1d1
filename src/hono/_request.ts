/**
 * Request helpers shared by the Hono middleware.
 *
 * @module
 */

import type { HonoContext as Context } from "./types.ts";
import type { WaitUntilOption } from "../base/wait_until.ts";

/** Route params and query values, for rendering key and tag templates (params win). */
export function requestFields(c: Context): Record<string, string> {
  return { ...c.req.query(), ...c.req.param() };
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
