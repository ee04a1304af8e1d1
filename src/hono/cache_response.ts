/**
 * `cacheResponse()`: Hono middleware that caches GET and HEAD responses in the active cache, with key
 * templates over route params and query, tags, ttl, grace, negative caching of 404s and `vary` headers.
 * Unlike Hono's built-in `cache()` (the Web Cache API only), it works with every store, invalidates by tag,
 * and coalesces concurrent requests for one key into one handler run.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { cacheRead } from "../read.ts";
import { type CompiledTemplate, compileTemplate, renderTemplate, renderValue } from "../keys.ts";
import { isNegativeCacheResult, negativeCache } from "../negative.ts";
import { activeCache } from "../default_cache.ts";
import { checkTtl, type Ttl } from "../ttl.ts";
import type { ReadResult } from "../read_options.ts";
import { executionCtxOf, requestFields } from "./_request.ts";

/** Options of {@linkcode cacheResponse}. */
export interface CacheResponseOptions {
  /** A template over route params and query (`"user:{id}:http"`), or a function. @default {method, path, sorted query} */
  key?: string | ((c: Context) => string);
  /** Tags: templates over params and query (`"user:{id}"`), or a function of the context. */
  tags?: readonly string[] | ((c: Context) => readonly string[]);
  /** Seconds, or `"short" | "default" | "long"`. @default {"default"} */
  ttl?: Ttl;
  /** Spread expiry ± 10 %. */
  smoothExpiry?: boolean;
  /** Refresh in the background after this many seconds. */
  earlyTtl?: number;
  /** Serve stale (`X-Cache: STALE`) for this many seconds after the ttl while refreshing. */
  staleTtl?: number;
  /** Cache 404 responses for this many seconds (negative caching); not cached when omitted. */
  notFoundTtl?: number;
  /** Request headers that take part in the key (`["accept-language"]`). */
  vary?: readonly string[];
  /**
   * The caller's identity for requests with `Authorization`; such requests are cached per identity, and
   * without this option they are never cached.
   */
  identity?: (c: Context) => string | undefined;
  /** Name in logs and metrics. @default {"http " + key template} */
  name?: string;
}

/** A response as stored: status, headers and the whole body. */
interface StoredResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array<ArrayBuffer>;
}

/** One request's call of the cached handler. */
interface HandlerCall {
  key: string;
  tags: string[];
  run: () => Promise<unknown>;
}

/**
 * Caches GET/HEAD responses. Adds `X-Cache: HIT|MISS|STALE`, `Age`, and a `Cache-Control` derived from the ttl
 * when the handler set none. Never caches: other methods, requests with `Authorization` (unless `identity`
 * gives the caller's identity), responses with `Set-Cookie` or `Cache-Control: private`/`no-store`, and
 * statuses other than 2xx (404 only with `notFoundTtl`).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { cacheResponse, invalidateOnWrite } from "@svc-infra/cache/hono";
 * const app = new Hono();
 * app.get("/users/:id", cacheResponse({ key: "user:{id}:http", tags: ["user:{id}"], ttl: 60 }), (c) =>
 *   c.json({ id: c.req.param("id") }));
 * app.put("/users/:id", invalidateOnWrite({ tags: ["user:{id}"] }), (c) => c.json({ ok: true }));
 * const res = await app.request("/users/1");
 * console.log(res.headers.get("x-cache")); // MISS
 * ```
 */
export function cacheResponse(options: CacheResponseOptions = {}): MiddlewareHandler {
  const name = options.name ?? `http ${typeof options.key === "string" ? options.key : "response"}`;
  const keyTemplate = typeof options.key === "string" ? compileTemplate(options.key, name) : undefined;
  const tagTemplates: CompiledTemplate[] = Array.isArray(options.tags)
    ? options.tags.map((t) => compileTemplate(t, name))
    : [];
  checkTtl(options.notFoundTtl, name, "notFoundTtl");
  const vary = (options.vary ?? []).map((h) => h.toLowerCase()).sort();
  const read = cacheRead<string, HandlerCall, unknown>({
    key: (call) => call.key,
    tags: (call) => call.tags,
    ttl: options.ttl,
    smoothExpiry: options.smoothExpiry,
    earlyTtl: options.earlyTtl,
    staleTtl: options.staleTtl,
    name,
  }, (call) => call.run());

  return async function cacheResponse(c, next) {
    const method = c.req.method;
    if (method !== "GET" && method !== "HEAD") return await next();
    let identity: string | undefined;
    if (c.req.header("authorization") !== undefined) {
      identity = options.identity?.(c);
      if (identity === undefined) return await next();
    }
    const fields = requestFields(c);
    let key = `http:${method}:${
      keyTemplate
        ? renderTemplate(keyTemplate, fields, name)
        : typeof options.key === "function"
        ? options.key(c)
        : defaultKey(c, name)
    }`;
    for (const header of vary) key += `|${header}=${renderValue(c.req.header(header) ?? "", name)}`;
    if (identity !== undefined) key += `|identity=${renderValue(identity, name)}`;
    const tags = typeof options.tags === "function"
      ? [...options.tags(c)]
      : tagTemplates.map((t) => renderTemplate(t, fields, name));

    // This request's handler may also run as a background refresh (early or stale) of the entry it was
    // served from. It shares the request's context, so it waits until the request has been answered, then
    // lets the handler produce a fresh response.
    let ranHere = false;
    let result: ReadResult | undefined;
    let markAnswered!: () => void;
    const answered = new Promise<void>((resolve) => markAnswered = resolve);
    const call: HandlerCall = {
      key,
      tags,
      run: async () => {
        ranHere = true;
        if (result !== undefined) {
          await answered;
          await new Promise((resolve) => setTimeout(resolve, 0)); // the server has taken the answer
          c.res = undefined;
          c.finalized = false;
        }
        await next();
        const res = c.res;
        // Not cacheable: nothing is stored and nothing is shared with concurrent requests (null).
        if (!cacheable(res) || (res.status === 404 && !options.notFoundTtl)) return negativeCache({ ttl: 0 });
        const stored = await storeResponse(res);
        return res.status === 404 ? negativeCache({ ttl: options.notFoundTtl!, value: stored }) : stored;
      },
    };
    const value = await read(call, { waitUntil: executionCtxOf(c), onResult: (r) => result ??= r });
    const stored = (isNegativeCacheResult(value) ? value.value : value) as StoredResponse | null;
    if (stored === null) {
      if (!ranHere) await next(); // a concurrent request got an uncacheable response: run this one itself
      return markAnswered();
    }
    c.res = undefined;
    c.res = toResponse(stored, result, identity !== undefined);
    markAnswered();
  };
}

function defaultKey(c: Context, name: string): string {
  const url = new URL(c.req.url);
  const query = [...url.searchParams].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
    .map(([k, v]) => `${renderValue(k, name)}=${renderValue(v, name)}`).join("&");
  return `${renderValue(url.pathname, name)}?${query}`;
}

function cacheable(res: Response): boolean {
  if (res.headers.has("set-cookie")) return false;
  const control = res.headers.get("cache-control")?.toLowerCase() ?? "";
  if (/\b(private|no-store)\b/.test(control)) return false;
  return (res.status >= 200 && res.status < 300) || res.status === 404;
}

async function storeResponse(res: Response): Promise<StoredResponse> {
  return {
    status: res.status,
    headers: [...res.headers].filter(([name]) => name !== "content-length"),
    body: new Uint8Array(await res.arrayBuffer()),
  };
}

function toResponse(stored: StoredResponse, result: ReadResult | undefined, personal: boolean): Response {
  const headers = new Headers(stored.headers);
  const now = activeCache().settings.clock.now();
  const status = result?.status ?? "miss";
  headers.set("x-cache", status.toUpperCase());
  headers.set("age", String(Math.max(0, Math.floor((now - (result?.createdAt ?? now)) / 1000))));
  if (!headers.has("cache-control")) {
    const maxAge = Math.max(0, Math.floor(((result?.freshUntil ?? now) - now) / 1000));
    headers.set("cache-control", `${personal ? "private" : "public"}, max-age=${maxAge}`);
  }
  const body = stored.status === 204 || stored.status === 304 ? null : stored.body;
  return new Response(body, { status: stored.status, headers });
}
