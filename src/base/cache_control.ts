/**
 * What a response's own headers say about caching it (RFC 9111): its `Cache-Control` directives, and whether it
 * may be kept for other requests at all. Shared by every HTTP tier (the Hono middleware, the Cache API tier).
 *
 * @example
 * ```ts
 * import { mayStore } from "./cache_control.ts";
 * console.log(mayStore(new Headers({ "cache-control": "max-age=60" })), mayStore(new Headers({ "cache-control": "no-cache" })));
 * // true false
 * ```
 *
 * @module
 */

/**
 * The directives of a `Cache-Control` field, lower case, each with its argument (`""` when it has none). A
 * directive given twice keeps its first value (RFC 9111 §4.2.1).
 */
export function directives(field: string | null): Map<string, string> {
  const found = new Map<string, string>();
  for (const part of field?.split(",") ?? []) {
    const [name, value = ""] = part.split("=", 2).map((s) => s.trim());
    const key = name.toLowerCase();
    if (key !== "" && !found.has(key)) found.set(key, value.replace(/^"(.*)"$/, "$1"));
  }
  return found;
}

/**
 * `true` when a shared cache may keep the response for other requests (or, `personal`, for the same caller's
 * later ones, where `private` is no bar): not personal (`private`, `no-store`)
 * and not stale already by its own freshness (§4.2.1, §5.2.2.4): `no-cache`, a shared cache's `s-maxage`, else
 * `max-age`, that its `Age` has reached, else an `Expires` not after `Date` (or now); an invalid `Expires` or
 * lifetime counts as past (§5.3). `Set-Cookie`, `Vary` and statuses are each tier's own business.
 */
export function mayStore(headers: Headers, personal = false): boolean {
  const control = directives(headers.get("cache-control"));
  if ((control.has("private") && !personal) || control.has("no-store") || control.has("no-cache")) {
    return false;
  }
  const fresh = freshSeconds(headers, control);
  return fresh === undefined || fresh > 0;
}

/**
 * Seconds a response stays fresh by its own headers (§4.2): its lifetime (a shared cache's `s-maxage`, else
 * `max-age`, else `Expires` less `Date`, or now) less its `Age`; `0` for an invalid lifetime (§5.3), and
 * `undefined` when it states none.
 */
export function freshSeconds(
  headers: Headers,
  control: Map<string, string> = directives(headers.get("cache-control")),
): number | undefined {
  const age = Number(headers.get("age")) || 0;
  const lifetime = control.get("s-maxage") ?? control.get("max-age");
  const expires = headers.get("expires");
  if (lifetime === undefined && expires === null) return undefined;
  const date = Date.parse(headers.get("date") ?? "");
  const seconds = lifetime !== undefined
    ? Number(lifetime)
    : (Date.parse(expires!) - (Number.isNaN(date) ? Date.now() : date)) / 1000;
  return Number.isNaN(seconds) ? 0 : seconds - age;
}
