/**
 * `keys(pattern)`: the logical keys of a cache's stored entries (its namespaces' after their path) matching a
 * glob where `*` is any run of characters, everything else literal.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";

/** The listed keys of `cache` matching `pattern`, sorted (see `Cache.keys`). */
export async function listKeys(cache: CacheContext, pattern: string): Promise<string[]> {
  if (!cache.store.scan) throw new TypeError(`Cannot list keys: the ${cache.store.name} store cannot scan`);
  if (typeof pattern !== "string") {
    throw new TypeError(
      `Cannot list keys: the pattern must be a string, current value is ${typeof pattern}`,
    );
  }
  const matches = globMatcher(pattern);
  const found = await cache.guarded.run(
    "scan",
    (signal) => cache.store.scan!(cache.keys.namespace, { signal }),
  );
  const listed: string[] = [];
  for (const key of found) {
    const path = cache.keys.listedKey(key);
    if (path !== undefined && matches(path)) listed.push(path);
  }
  return listed.sort();
}

/**
 * A matcher for a glob where `*` is any run of characters. Linear in the key, unlike a regular expression of
 * `.*`s, which backtracks exponentially (`*a*a*a…*b`): the text between stars is found in order, each piece at
 * its leftmost place, which leaves the most room for the rest, so the first fit found is a fit if any is.
 */
export function globMatcher(pattern: string): (key: string) => boolean {
  const parts = pattern.split("*");
  if (parts.length === 1) return (key) => key === pattern;
  const first = parts[0], last = parts[parts.length - 1], middle = parts.slice(1, -1);
  return (key) => {
    if (key.length < first.length + last.length || !key.startsWith(first) || !key.endsWith(last)) {
      return false;
    }
    let at = first.length;
    const end = key.length - last.length;
    for (const part of middle) {
      const found = key.indexOf(part, at);
      if (found < 0 || found + part.length > end) return false;
      at = found + part.length;
    }
    return true;
  };
}
