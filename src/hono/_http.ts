/**
 * The HTTP caching rules (RFC 9111, RFC 9110) of `cacheResponse`: which responses may be stored, how a stored
 * response is made self-consistent (body, `Content-Encoding`, `Content-Length`, `ETag`), and what a served one
 * says to the browsers and shared caches downstream (`Vary`, `Cache-Control`, `Age`, `304`).
 *
 * @module
 */

import { mayStore } from "../base/cache_control.ts";
import type { HonoContext } from "./types.ts";

/** A response as stored: status, headers and the whole body. */
export interface StoredResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array<ArrayBuffer>;
}

/** Complete responses cacheable by default (RFC 9110 §15.1) that are stored as ordinary entries. */
const STORED_STATUSES = new Set([200, 203, 204, 300, 301, 308]);
/** Statuses stored only as negative entries, with `notFoundTtl`. */
export const NEGATIVE_STATUSES: ReadonlySet<number> = new Set([404, 410]);
/** Codings whose bodies `fetch` decodes while keeping the header, with the first bytes of an encoded body. */
const CODING_MAGIC: Record<string, (body: Uint8Array) => boolean> = {
  gzip: (b) => b[0] === 0x1f && b[1] === 0x8b,
  "x-gzip": (b) => b[0] === 0x1f && b[1] === 0x8b,
  deflate: (b) => b.length > 1 && (b[0] & 0x0f) === 8 && ((b[0] << 8) | b[1]) % 31 === 0, // zlib header
  zstd: (b) => b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd,
};
/** Hop-by-hop fields, never stored (RFC 9111 §3.1), besides those `Connection` names. */
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];
/** What a 304 keeps of the 200 it stands for (RFC 9110 §15.4.5), with our own `Age` and `X-Cache`. */
const NOT_MODIFIED_HEADERS = ["cache-control", "content-location", "date", "etag", "expires", "vary", "age"];

/** The names a field such as `Vary` or `Connection` lists, lower case (`["*"]` for `Vary: *`). */
export function listedNames(value: string | null | undefined): string[] {
  if (!value) return [];
  return value.split(",").map((name) => name.trim().toLowerCase()).filter((name) => name !== "");
}

/**
 * Whether a response may be stored, `Vary` aside: not personal (`Set-Cookie`, `no-store`, `private` unless it is
 * stored per identity, `personal`), not stale
 * already by its own freshness (see `mayStore`), complete (no `206`, no `Content-Range`), of a cacheable status, with a body
 * whose coding can be checked.
 */
export function storable(res: Response, negative: boolean, personal: boolean): boolean {
  const headers = res.headers;
  if (headers.has("set-cookie") || headers.has("content-range")) return false;
  if (!mayStore(headers, personal)) return false;
  if (!STORED_STATUSES.has(res.status) && !(negative && NEGATIVE_STATUSES.has(res.status))) return false;
  const coding = headers.get("content-encoding")?.trim().toLowerCase();
  return !coding || coding === "identity" || headers.has("content-length") || coding in CODING_MAGIC;
}

/**
 * The headers outer middleware prepared for this request (`c.header()`, `setCookie()` before `next()`: a
 * request id, a visitor's session cookie), as Hono merges them into the handler's response.
 */
export function preparedHeaders(c: HonoContext): Headers {
  return new Headers(c.newResponse(null).headers);
}

/**
 * Fields that describe the response's content or how it may be cached: whoever set them (a middleware marking
 * signed-in requests `private`, or adding `Vary: Cookie`), they decide what is stored, and are stored.
 */
const ABOUT_THE_CONTENT = new Set([
  "cache-control",
  "expires",
  "pragma",
  "vary",
  "age",
  "etag",
  "last-modified",
  "content-type",
  "content-encoding",
  "content-language",
  "content-location",
]);

/**
 * `res` without the fields `prepared` holds with the same value, but those {@linkcode ABOUT_THE_CONTENT}: they
 * are this request's (a request id, a session cookie), so they are neither stored (and replayed to others) nor
 * a reason not to store.
 */
export function withoutPrepared(res: Response, prepared: Headers): Response {
  if (prepared.keys().next().done) return res; // nothing prepared: no copy
  const headers = new Headers(res.headers);
  const cookies = prepared.getSetCookie();
  if (cookies.length > 0) {
    headers.delete("set-cookie");
    for (const cookie of res.headers.getSetCookie()) {
      if (!cookies.includes(cookie)) headers.append("set-cookie", cookie);
    }
  }
  for (const [name, value] of prepared) {
    if (name !== "set-cookie" && !ABOUT_THE_CONTENT.has(name) && headers.get(name) === value) {
      headers.delete(name);
    }
  }
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

/** `res` served to this request: its fields over those `prepared` for it (cookies added), as Hono merges them. */
export function withPrepared(res: Response, prepared: Headers): Response {
  if (prepared.keys().next().done) return res;
  const headers = new Headers(prepared);
  for (const [name, value] of res.headers) {
    name === "set-cookie" ? headers.append(name, value) : headers.set(name, value);
  }
  return new Response(res.body, { status: res.status, headers });
}

/**
 * Reads a storable response whole, without its hop-by-hop fields. A body `fetch` has decoded keeps its
 * `Content-Encoding` header (and the encoded `Content-Length`): it is stored as what it is, unencoded. The
 * stored `Content-Length` is the body's, and the `ETag` a strong one: the handler's own if the body is as it
 * sent it, else its digest.
 */
export async function readStorable(res: Response, ownCacheControl: boolean): Promise<StoredResponse> {
  const body = new Uint8Array(await res.arrayBuffer());
  const headers = new Headers(res.headers);
  for (const name of [...HOP_BY_HOP, ...listedNames(headers.get("connection"))]) headers.delete(name);
  const coding = headers.get("content-encoding")?.trim().toLowerCase();
  const declared = headers.get("content-length");
  const decoded = coding !== undefined && coding !== "identity" &&
    (declared !== null ? Number(declared) !== body.byteLength : !CODING_MAGIC[coding](body));
  if (decoded) headers.delete("content-encoding");
  headers.delete("content-length");
  if (res.status !== 204) headers.set("content-length", String(body.byteLength));
  // Our max-age counts from the store; a handler's own Cache-Control counts from its Age.
  if (!ownCacheControl) headers.delete("age");
  const etag = headers.get("etag");
  if (decoded || etag === null || etag.startsWith("W/")) headers.set("etag", await digestTag(body));
  return { status: res.status, headers: [...headers], body };
}

/** A strong entity tag of `body`: 128 bits of its SHA-256, base64url. */
async function digestTag(body: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body), 0, 16);
  const base64 = btoa(String.fromCharCode(...digest));
  return `"${base64.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}"`;
}

/** How a stored response is served. */
export interface Presentation {
  /** `HIT`, `MISS` or `STALE`. */
  cacheStatus: string;
  /** Whole seconds since it was stored. */
  ageSeconds: number;
  /** `Cache-Control` when the handler set none. */
  cacheControl: string;
  /** Stored per identity: a handler's own `Cache-Control` is made `private` (no `public`, no `s-maxage`). */
  personal: boolean;
  /** Request headers the response varies on besides its own `Vary`, as the route names them. */
  vary: readonly string[];
  /** The request's `If-None-Match`. */
  ifNoneMatch: string | undefined;
}

/**
 * The response for a stored one: its headers with `X-Cache`, `Age` (added to the handler's own), the
 * `Cache-Control` when the handler set none (a personal response's own made `private`, so that no shared cache
 * keeps one caller's response for others), and a `Vary` that names every request header the key holds.
 * A 2xx whose `ETag` the request's `If-None-Match` names is a `304` without body (RFC 9110 §13.1.2).
 */
export function present(stored: StoredResponse, how: Presentation): Response {
  const headers = new Headers(stored.headers);
  headers.set("x-cache", how.cacheStatus);
  headers.set("age", String(how.ageSeconds + (Number(headers.get("age")) || 0)));
  const own = headers.get("cache-control");
  if (own === null) headers.set("cache-control", how.cacheControl);
  else if (how.personal) headers.set("cache-control", privately(own));
  const vary = headers.get("vary");
  const named = listedNames(vary);
  const missing = how.vary.filter((name) => !named.includes(name.toLowerCase()));
  if (missing.length > 0) headers.set("vary", [vary, ...missing].filter(Boolean).join(", "));
  const etag = headers.get("etag");
  if (stored.status >= 200 && stored.status < 300 && etag && matches(how.ifNoneMatch, etag)) {
    for (const [name] of [...headers]) {
      if (name !== "x-cache" && !NOT_MODIFIED_HEADERS.includes(name)) headers.delete(name);
    }
    return new Response(null, { status: 304, headers });
  }
  return new Response(stored.status === 204 ? null : stored.body, { status: stored.status, headers });
}

/** A `Cache-Control` for one caller only: `private`, without what lets shared caches keep it. */
function privately(field: string): string {
  const kept = field.split(",").map((part) => part.trim()).filter((part) => {
    const name = part.split("=", 1)[0].trim().toLowerCase();
    return name !== "" && name !== "public" && name !== "s-maxage" && name !== "private";
  });
  return ["private", ...kept].join(", ");
}

/** `If-None-Match` against an entity tag: `*`, or the weak comparison of each listed tag. */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === "*") return true;
  const opaque = etag.replace(/^W\//, "");
  return ifNoneMatch.match(/"[^"]*"/g)?.includes(opaque) ?? false;
}
