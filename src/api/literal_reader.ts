/**
 * The instance API's reads of one literal key (`getOrSet`, `set`): a cached function whose key and tags are
 * fixed and whose loader is the call's argument, so one read path serves every call.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import { type CachedFunction, createReader } from "./cache_read.ts";
import { checkKey, type GetOrSetOptions } from "./cache_options.ts";
import type { LoaderContext } from "../load/loader_context.ts";

/**
 * The read path for one literal key: a cached function whose key and tags are fixed. `supersede`: for `set`,
 * whose forced loads replace what they find, since their value is newer than any load in flight.
 */
export function literalReader(
  key: string,
  options: GetOrSetOptions,
  resolve: () => CacheContext,
  supersede = false,
): CachedFunction<unknown, unknown> {
  const { tags = [], waitUntil: _w, signal: _s, force: _f, ...readOptions } = options;
  if (!Array.isArray(tags)) {
    throw new TypeError(`Cannot cache ${key}: tags must be an array of strings, current value is ${tags}`);
  }
  for (const tag of tags) checkKey(tag, "cache", "tags");
  const fixed = checkKey(key, "cache");
  return createReader<unknown, unknown>(
    { ...readOptions, key: () => fixed, tags: () => tags, name: readOptions.name ?? "getOrSet" },
    // The argument is the call's loader, so that one read path serves every call.
    (loader: unknown, ctx: LoaderContext) => (loader as (ctx: LoaderContext) => unknown)(ctx),
    [],
    undefined,
    resolve,
    supersede,
  );
}
