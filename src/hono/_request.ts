/**
 * Request helpers shared by the Hono middleware.
 *
 * @module
 */

import type { HonoContext as Context } from "./types.ts";
import type { WaitUntil } from "../context.ts";

/** Route params and query values, for rendering key and tag templates (params win). */
export function requestFields(c: Context): Record<string, string> {
  return { ...c.req.query(), ...c.req.param() };
}

/** The platform's `waitUntil` (Workers, Vercel, …); `undefined` where `executionCtx` throws (Deno, Node). */
export function waitUntilOf(c: Context): WaitUntil | undefined {
  try {
    const ctx = c.executionCtx;
    return typeof ctx?.waitUntil === "function" ? (promise) => ctx.waitUntil(promise) : undefined;
  } catch {
    return undefined;
  }
}
