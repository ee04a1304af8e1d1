/**
 * A per-data-center tier for HTTP responses on Cloudflare's Cache API, in front of the shared cache: a Hono
 * middleware ({@linkcode cacheApiTier}) that answers a GET from the data center's cache while its copy is younger
 * than `maxStaleMs`, and otherwise lets the request through (to `cacheResponse` and the shared store) and keeps
 * the response for the next ones.
 *
 * Its scope, honestly: the Cache API is local to one data center and cannot be told of an invalidation made
 * elsewhere (Workers can only delete its entries in the data center they run in), so this tier does not keep
 * the cache's rule. It bounds it: a response served from it is never older than what was acknowledged more
 * than `maxStaleMs` before the request. Within one data center, {@linkcode purgeCacheApi} deletes a URL at once
 * (read-your-writes there). A kept response is served only while fresh by its own headers too (RFC 9111
 * §4.2.4), with its own `Cache-Control` and an `Age` grown by the time it was kept (§4.2.3). Responses are kept
 * by URL alone, so anything that varies by caller is let through
 * and never kept: requests with `Authorization` or `Cookie`, responses with `Set-Cookie`, `Vary`, or
 * `Cache-Control: private` / `no-store`, and every status but 200.
 *
 * @module
 */

import { checkOptionNames } from "../src/api/option_names.ts";
import { checkPositive } from "../src/base/positive.ts";
import { freshSeconds, mayStore } from "../src/base/cache_control.ts";

/** The part of a Hono context the tier uses. */
export interface CacheApiContext {
  /** The request. */
  readonly req: { readonly method: string; readonly url: string; readonly raw: Request };
  /** The response, once the next handlers ran. */
  res: Response;
  /** Keeps the cache write alive after the response (Workers). */
  readonly executionCtx?: { waitUntil(promise: Promise<unknown>): void };
}

/** The part of a Web `Cache` the tier uses (`caches.default` on Cloudflare). */
export interface CacheLike {
  /** The stored response for a request, if any. */
  match(request: Request): Promise<Response | undefined>;
  /** Stores a response. */
  put(request: Request, response: Response): Promise<void>;
  /** Deletes the stored response; `true` when there was one. */
  delete(request: Request): Promise<boolean>;
}

/** Options of {@linkcode cacheApiTier}. */
export interface CacheApiTierOptions {
  /**
   * How old a kept response may be when it is served, in milliseconds: the bound on how late an invalidation
   * made in another data center is seen here. Required: choose it for the route.
   */
  maxStaleMs: number;
  /** The cache. @default {caches.default} */
  cache?: CacheLike;
}

/** The header that holds when the tier stored a response (ms since the epoch). */
const STORED_AT = "x-cache-api-stored-at";
/** The header that holds the response's own `Cache-Control`, while the Cache API is given the tier's. */
const OWN_CONTROL = "x-cache-api-cache-control";

/**
 * Creates the per-data-center tier; put it before `cacheResponse` on GET routes whose responses are the same
 * for every caller.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { cacheResponse } from "@svc-infra/cache/hono";
 * import { cacheApiTier } from "@svc-infra/cache/adapters/cloudflare";
 * const app = new Hono();
 * app.get("/products/:id", cacheApiTier({ maxStaleMs: 5000 }), cacheResponse({ key: "product:{id}" }), (c) =>
 *   c.json({ id: c.req.param("id") }));
 * ```
 *
 * @throws {TypeError} when `maxStaleMs` is missing or an option is unknown; {RangeError} when it is not positive.
 */
export function cacheApiTier(
  options: CacheApiTierOptions,
): (c: CacheApiContext, next: () => Promise<void>) => Promise<Response | void> {
  checkOptionNames(options ?? {}, ["maxStaleMs", "cache"], "Cannot create the Cache API tier");
  const maxStaleMs = options?.maxStaleMs;
  if (typeof maxStaleMs !== "number") {
    throw new TypeError(
      "Cannot create the Cache API tier: maxStaleMs is required (how late an invalidation made in another data center may be seen)",
    );
  }
  checkPositive("Cannot create the Cache API tier", "maxStaleMs", maxStaleMs);
  return async (c, next) => {
    const request = c.req.raw;
    if (c.req.method !== "GET" || request.headers.has("authorization") || request.headers.has("cookie")) {
      return await next();
    }
    const cache = options.cache ?? defaultCache();
    const key = new Request(c.req.url);
    const kept = await cache.match(key);
    const served = kept && keptResponse(kept, maxStaleMs);
    if (served) return served;
    await kept?.body?.cancel();
    await next();
    if (!keepable(c.res)) return;
    const copy = new Response(c.res.clone().body, c.res);
    copy.headers.set(STORED_AT, String(Date.now()));
    // RFC 9110 §6.6.1: a cache adds the Date a response lacks, so that its Expires counts from when it was sent.
    if (!copy.headers.has("date")) copy.headers.set("date", new Date(Date.now()).toUTCString());
    const own = c.res.headers.get("cache-control");
    if (own !== null) copy.headers.set(OWN_CONTROL, own);
    // The Cache API drops it by itself after this (whole seconds); the tier checks the exact bound on reading.
    copy.headers.set("cache-control", `public, max-age=${Math.ceil(maxStaleMs / 1000)}`);
    const stored = cache.put(key, copy).catch(() => {}); // a full or failing cache is only a miss later
    const waitUntil = executionContext(c)?.waitUntil;
    if (waitUntil) waitUntil.call(executionContext(c), stored);
    else await stored;
  };
}

/**
 * A kept response as served, while younger than `maxStaleMs` and fresh by its own headers (RFC 9111 §4.2.4: a
 * shared cache serves nothing stale): its own `Cache-Control`, and an `Age` grown by the time it was kept
 * (§4.2.3). `undefined` otherwise.
 */
function keptResponse(kept: Response, maxStaleMs: number): Response | undefined {
  const keptMs = Date.now() - Number(kept.headers.get(STORED_AT));
  if (!(keptMs < maxStaleMs)) return undefined;
  const headers = new Headers(kept.headers);
  const own = headers.get(OWN_CONTROL);
  if (own === null) headers.delete("cache-control");
  else headers.set("cache-control", own);
  headers.delete(OWN_CONTROL);
  headers.delete(STORED_AT);
  headers.set("age", String((Number(headers.get("age")) || 0) + Math.floor(keptMs / 1000)));
  const fresh = freshSeconds(headers);
  if (fresh !== undefined && fresh <= 0) return undefined;
  headers.set("x-cache-tier", "HIT");
  return new Response(kept.body, { status: kept.status, statusText: kept.statusText, headers });
}

/** Deletes a URL's kept response in this data center (other data centers keep theirs up to `maxStaleMs`). */
export async function purgeCacheApi(url: string, cache: CacheLike = defaultCache()): Promise<boolean> {
  return await cache.delete(new Request(url));
}

/** The context's `executionCtx`, or nothing: Hono's getter throws outside Workers. */
function executionContext(c: CacheApiContext): CacheApiContext["executionCtx"] {
  try {
    return c.executionCtx;
  } catch {
    return undefined;
  }
}

/** A response the same for every caller, that the tier may keep (what `cacheResponse` would store). */
function keepable(response: Response): boolean {
  if (response.status !== 200 || response.headers.has("set-cookie") || response.headers.has("vary")) {
    return false;
  }
  return mayStore(response.headers);
}

function defaultCache(): CacheLike {
  const cache = (globalThis as { caches?: { default?: CacheLike } }).caches?.default;
  if (!cache) {
    throw new TypeError(
      "Cannot use the Cache API tier: caches.default is missing (not on Cloudflare): pass cache",
    );
  }
  return cache;
}
