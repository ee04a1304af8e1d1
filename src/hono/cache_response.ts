/**
 * `cacheResponse()`: Hono middleware that caches GET and HEAD responses in a cache, with key templates over
 * route params and query, tags, ttl, grace, negative caching of 404s and `vary` headers, and speaks HTTP
 * caching (RFC 9111) to the browsers and CDNs downstream. Unlike Hono's built-in `cache()` (the Web Cache API
 * only), it works with every store, invalidates by tag, and coalesces concurrent requests for one key into
 * one handler run.
 *
 * @module
 */

import { type CompiledTemplate, compileTemplate, renderTemplate, renderValue } from "../keys/template.ts";
import { isNegativeCacheResult, negativeCache } from "../entry/negative.ts";
import type { Cache } from "../api/cache.ts";
import { CONTEXT } from "../api/engine_of.ts";
import { instance } from "../api/init.ts";
import { checkSeconds, type Ttl } from "../base/ttl.ts";
import { checkOptions } from "../api/option_names.ts";
import type { ReadResult } from "../read/options.ts";
import { executionCtxOf, requestFields } from "./_request.ts";
import { checkedKey, checkForm, defaultKey, renderedTags } from "./_key.ts";
import {
  listedNames,
  NEGATIVE_STATUSES,
  preparedHeaders,
  present,
  readStorable,
  storable,
  type StoredResponse,
  withoutPrepared,
  withPrepared,
} from "./_http.ts";
import type { ContextFunction, HonoContext, HonoMiddleware } from "./types.ts";

/** Options of {@linkcode cacheResponse}. */
export interface CacheResponseOptions {
  /** A template over route params and query (`"user:{id}:http"`), or a function. @default {method, host, path, sorted query} */
  key?: string | ContextFunction<string>;
  /** Tags: templates over params and query (`"user:{id}"`), or a function of the context. */
  tags?: readonly string[] | ContextFunction<readonly string[]>;
  /** Seconds, or `"short" | "default" | "long"`: the entry's life here, and `max-age` downstream. @default {"default"} */
  ttl?: Ttl;
  /** Seconds shared caches (CDNs) may keep a response, sent as `s-maxage`; public responses only. */
  sMaxAge?: number;
  /** Spread expiry ± 10 %. */
  smoothExpiry?: boolean;
  /** Refresh in the background after this many seconds. */
  earlyTtl?: number;
  /**
   * Serve stale (`X-Cache: STALE`) for this many seconds after the ttl while refreshing; downstream caches
   * are allowed the same (`stale-while-revalidate`).
   */
  staleTtl?: number;
  /** Cache 404 and 410 responses for this many seconds (negative caching); not cached when omitted. */
  notFoundTtl?: number;
  /** Request headers that take part in the key and are named in `Vary` (`["accept-language"]`). */
  vary?: readonly string[];
  /**
   * The caller's identity for requests with `Authorization`; such requests are cached per identity (sent as
   * `private`, with `Vary: Authorization`), and without this option they are never cached.
   */
  identity?: ContextFunction<string | undefined>;
  /** Name in logs and metrics. @default {"http " + key template} */
  name?: string;
  /** The cache to store in: one from `createCache`. @default {instance()} */
  cache?: Cache;
}

/** Every option name of {@linkcode CacheResponseOptions}; the compiler keeps the list complete. */
const OPTION_NAMES = Object.keys(
  {
    key: 1,
    tags: 1,
    ttl: 1,
    sMaxAge: 1,
    smoothExpiry: 1,
    earlyTtl: 1,
    staleTtl: 1,
    notFoundTtl: 1,
    vary: 1,
    identity: 1,
    name: 1,
    cache: 1,
  } satisfies Record<keyof CacheResponseOptions, 1>,
);

/** A header name (RFC 9110 `token`). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** One request's call of the cached handler. */
interface HandlerCall {
  key: string;
  tags: string[];
  run: () => Promise<unknown>;
}

/**
 * Caches GET/HEAD responses. Every response it serves carries `X-Cache: HIT|MISS|STALE`, `Age` (seconds
 * since stored), a strong `ETag`, a `Vary` naming the request headers in the key, and, when the handler set
 * none, `Cache-Control: public, max-age=<ttl>` (with `s-maxage` and `stale-while-revalidate` when set;
 * `private` for an identity). A request whose `If-None-Match` names the `ETag` gets `304`.
 *
 * Never caches: other methods, requests with `Authorization` (unless `identity` gives the caller's
 * identity), responses with `Set-Cookie`, `Cache-Control: private`/`no-store`, `Content-Range` or `Vary: *`,
 * responses stale at once (`no-cache`, `s-maxage=0`, `max-age=0`, an `Expires` not after `Date`),
 * statuses other than 200, 203, 204, 300, 301 and 308 (404 and 410 only with `notFoundTtl`), and bodies whose
 * `Content-Encoding` cannot be checked. A response that varies on a request header the key lacks is not
 * cached; that header joins this route's key from then on.
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
 * console.log(res.headers.get("x-cache"), res.headers.get("cache-control")); // MISS public, max-age=60
 * ```
 *
 * @throws {TypeError} an unknown option (naming the closest known one), an option of the wrong form, a
 * malformed template, `vary` name or `cache`.
 * @throws {RangeError} a ttl, `sMaxAge`, `staleTtl`, `earlyTtl` or `notFoundTtl` that is not seconds.
 */
export function cacheResponse(options: CacheResponseOptions = {}): HonoMiddleware {
  checkOptions(options, OPTION_NAMES, "Cannot create cacheResponse");
  const name = options.name ?? `http ${typeof options.key === "string" ? options.key : "response"}`;
  checkForm(options.key, ["string", "function"], "key", name);
  checkForm(options.tags, ["array", "function"], "tags", name);
  checkForm(options.vary, ["array"], "vary", name);
  checkForm(options.identity, ["function"], "identity", name);
  const keyTemplate = typeof options.key === "string" ? compileTemplate(options.key, name) : undefined;
  const tagTemplates: CompiledTemplate[] = Array.isArray(options.tags)
    ? options.tags.map((t) => compileTemplate(t, name))
    : [];
  checkSeconds(options.notFoundTtl, name, "notFoundTtl");
  checkSeconds(options.sMaxAge, name, "sMaxAge");
  const { sMaxAge, staleTtl } = options;
  const routeVary = [...(options.vary ?? [])];
  for (const header of routeVary) {
    if (typeof header !== "string" || !TOKEN.test(header)) {
      throw new TypeError(`Cannot cache ${name}: vary must list header names, current value is ${header}`);
    }
  }
  if (options.identity && !routeVary.some((h) => h.toLowerCase() === "authorization")) {
    routeVary.push("Authorization");
  }
  const cache = options.cache ?? instance();
  if (typeof cache?.[CONTEXT] !== "function") {
    throw new TypeError(
      `Cannot cache ${name}: cache must be a cache from createCache, current value is ${cache}`,
    );
  }
  const diagnostics = () => cache[CONTEXT]().diagnostics;
  // Request headers in the key: the route's `vary`, and those its responses' own `Vary` named.
  let keyHeaders = [...new Set((options.vary ?? []).map((h) => h.toLowerCase()))].sort();
  const read = cache.cacheRead<string, HandlerCall, unknown>({
    key: (call) => call.key,
    tags: (call) => call.tags,
    ttl: options.ttl,
    smoothExpiry: options.smoothExpiry,
    earlyTtl: options.earlyTtl,
    staleTtl,
    name,
  }, (call) => call.run());

  /**
   * `Cache-Control` for a response the handler gave none: freshness once, as lifetime and `Age`; the grace
   * window as ours is (negative entries have none).
   */
  const cacheControl = (lifetime: number, personal: boolean, negative: boolean) =>
    `${personal ? "private" : "public"}, max-age=${lifetime}` +
    (sMaxAge !== undefined && !personal ? `, s-maxage=${Math.floor(sMaxAge)}` : "") +
    (staleTtl && !negative ? `, stale-while-revalidate=${Math.floor(staleTtl)}` : "");

  return async function cacheResponse(c: HonoContext, next: () => Promise<void>): Promise<void> {
    const method = c.req.method;
    if (method !== "GET" && method !== "HEAD") return await next();
    let identity: string | undefined;
    if (c.req.header("authorization") !== undefined) {
      identity = options.identity?.(c);
      if (identity === undefined) return await next();
    }
    const fields = requestFields(c);
    let key: string;
    if (typeof options.key === "function") key = checkedKey(options.key(c), name);
    else {
      try {
        key = keyTemplate ? renderTemplate(keyTemplate, fields, name) : defaultKey(c, name);
      } catch (error) {
        // The request lacks what its key is made of (a query parameter): it is served, not cached.
        diagnostics().warnOnce(`key:${name}`, `${(error as Error).message}; such requests are not cached`);
        return await next();
      }
    }
    // What varies goes first, escaped (no `|` or `:` comes from a value), the key last: a key function's
    // string, taken as it is, cannot spell another caller's identity or header values.
    let variant = `http:${method}`;
    if (identity !== undefined) variant += `@${renderValue(identity, name)}`;
    const varied = keyHeaders; // what this key holds, whatever a response running meanwhile adds
    for (const header of varied) variant += `|${header}=${renderValue(c.req.header(header) ?? "", name)}`;
    key = `${variant}:${key}`;
    const tags = typeof options.tags === "function"
      ? [...options.tags(c)]
      : renderedTags(tagTemplates, fields, name, diagnostics);

    // This request's handler may also run as a background refresh (early or stale) of the entry it was
    // served from. It shares the request's context, so it waits until the request has been answered, then
    // lets the handler produce a fresh response.
    let ranHere = false;
    /** What outer middleware set for this request, taken before the handler ran here. */
    let outer: Headers | undefined;
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
        const prepared = outer = preparedHeaders(c);
        await next();
        const res = c.res && withoutPrepared(c.res, prepared);
        // Not cacheable: nothing is stored and nothing is shared with concurrent requests (null).
        if (!res || !storable(res, options.notFoundTtl !== undefined, identity !== undefined)) {
          return negativeCache({ ttl: 0 });
        }
        const unkeyed = listedNames(res.headers.get("vary")).filter((h) => !varied.includes(h));
        if (unkeyed.length > 0) {
          // Stored under this key, one variant would be served for all: the key takes the header from now on.
          if (!unkeyed.includes("*")) keyHeaders = [...new Set([...keyHeaders, ...unkeyed])].sort();
          return negativeCache({ ttl: 0 });
        }
        const stored = await readStorable(res, res.headers.has("cache-control"));
        return NEGATIVE_STATUSES.has(res.status)
          ? negativeCache({ ttl: options.notFoundTtl!, value: stored })
          : stored;
      },
    };
    const value = await read(call, { waitUntil: executionCtxOf(c), onResult: (r) => result ??= r });
    const stored = (isNegativeCacheResult(value) ? value.value : value) as StoredResponse | null;
    if (stored === null) {
      if (!ranHere) await next(); // a concurrent request got an uncacheable response: run this one itself
      return markAnswered();
    }
    const now = cache[CONTEXT]().settings.clock.now();
    const createdAt = result?.createdAt ?? now;
    const lifetime = Math.max(0, Math.floor(((result?.freshUntil ?? now) - createdAt) / 1000));
    // Taken before the response is cleared, as outer middleware may have set its fields on it (cors() does);
    // after a handler ran here, that response is the handler's: what was taken before it ran.
    const prepared = ranHere && outer ? outer : preparedHeaders(c);
    c.res = undefined;
    c.res = withPrepared(
      present(stored, {
        cacheStatus: (result?.status ?? "miss").toUpperCase(),
        ageSeconds: Math.max(0, Math.floor((now - createdAt) / 1000)),
        cacheControl: cacheControl(lifetime, identity !== undefined, isNegativeCacheResult(value)),
        personal: identity !== undefined,
        vary: routeVary,
        ifNoneMatch: c.req.header("if-none-match"),
      }),
      prepared,
    );
    markAnswered();
  };
}
