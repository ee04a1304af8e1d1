/**
 * `cacheWrite` and `recache`: wraps a mutation so that its tags are invalidated when it settles, and the
 * given readers are warmed afterwards.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import type { WaitUntil, WaitUntilOption } from "../base/wait_until.ts";
import { activeCache } from "./default_cache.ts";
import type { CachedFunction } from "./cache_read.ts";
import { compileTags, renderTags, type TagsOption } from "../keys/tags.ts";
import { checkOptionNames, optionNames } from "./option_names.ts";

/** A reader to warm after a write, made by {@linkcode recache}. */
export interface RecacheSpec<W> {
  /** The cached function to warm. */
  readonly reader: CachedFunction<never, unknown>;
  /** The reader's argument, built from the write's argument. */
  readonly argument: (writeArg: W) => unknown;
}

/** Options of {@linkcode recache}. */
export interface RecacheOptions {
  /** Properties of the write's argument passed to the reader. @default {all of them} */
  include?: readonly string[];
}

/** Every option name of {@linkcode RecacheOptions}. */
const RECACHE_OPTION_NAMES = optionNames<RecacheOptions>({ include: 1 });

/**
 * Warms `reader` after a write: it runs with the `include`d properties of the write's argument, bypassing
 * the cache read and storing the fresh value.
 *
 * @example
 * ```ts
 * import { cacheRead, cacheWrite, recache } from "@svc-infra/cache";
 * const getProfile = cacheRead({ key: "user:{userId}:profile", tags: ["user:{userId}"] },
 *   async ({ userId }: { userId: number }) => ({ userId }));
 * const update = cacheWrite({ tags: ["user:{userId}"], recache: [recache(getProfile, { include: ["userId"] })] },
 *   async ({ userId }: { userId: number; data: object }) => userId);
 * await update({ userId: 1, data: {} });
 * ```
 */
export function recache<W = unknown>(
  reader: CachedFunction<never, unknown>,
  options: RecacheOptions = {},
): RecacheSpec<W> {
  if (typeof reader !== "function" || typeof reader.refresh !== "function") {
    throw new TypeError("Cannot recache: expected a function made by cacheRead");
  }
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot recache ${reader.cacheName}: expected an options object`);
  }
  checkOptionNames(options, RECACHE_OPTION_NAMES, `Cannot recache ${reader.cacheName}`);
  const include = options.include;
  if (include !== undefined && (!Array.isArray(include) || include.some((p) => typeof p !== "string"))) {
    throw new TypeError(`Cannot recache ${reader.cacheName}: include must be an array of property names`);
  }
  return {
    reader,
    argument: include === undefined
      ? (arg) => arg
      : (arg) => Object.fromEntries(include.map((p) => [p, (arg as Record<string, unknown>)?.[p]])),
  };
}

/** Options of {@linkcode cacheWrite}. */
export interface WriteOptions<A> {
  /** Tags invalidated when the write settles: templates rendered from the argument, or a function of it. */
  tags?: TagsOption<A>;
  /** Readers warmed after a successful write (the seed's `recache_specs`). */
  recache?: readonly RecacheSpec<A>[];
  /** Name in logs, metrics and errors. @default {the function's name} */
  name?: string;
}

/** Every option name of {@linkcode WriteOptions}. */
const WRITE_OPTION_NAMES = optionNames<WriteOptions<unknown>>({ tags: 1, recache: 1, name: 1 });

/** Options of a cached read mistaken for a write's: a write only invalidates. */
const NOT_FOR_WRITES: Readonly<Record<string, string>> = {
  key: "a write has no entry of its own: it invalidates its tags (use cacheRead for a cached read)",
  ttl: "a write stores nothing, so it has no ttl: it invalidates its tags",
};

/** Options of one call of a write function. */
export interface WriteCallOptions {
  /** Receives the recache work instead of the write awaiting it: a function, or its object (`ctx`). */
  waitUntil?: WaitUntilOption;
}

/** Every option name of {@linkcode WriteCallOptions}. */
const WRITE_CALL_OPTION_NAMES = optionNames<WriteCallOptions>({ waitUntil: 1 });

/** A function wrapped by {@linkcode cacheWrite}. */
export type WriteFunction<A, R> = (
  ...args: unknown extends A ? [arg?: A, options?: WriteCallOptions] : [arg: A, options?: WriteCallOptions]
) => Promise<R>;

/**
 * Wraps a mutation: when it settles its tags are invalidated (also when it throws: a half-done write must
 * not leave stale reads; the error is rethrown), then after a success each recache runs.
 *
 * @example
 * ```ts
 * import { cacheWrite } from "@svc-infra/cache";
 * const updateUser = cacheWrite({ tags: ["user:{userId}"] },
 *   async ({ userId, data }: { userId: number; data: object }) => ({ userId, ...data }));
 * await updateUser({ userId: 1, data: { name: "Ada" } });
 * ```
 */
export function cacheWrite<A, R>(
  options: WriteOptions<A>,
  fn: (this: never, arg: A) => R | Promise<R>,
): WriteFunction<A, Awaited<R>> {
  return createWriter(options, fn, []);
}

/** Builds a write function; `extraTags` are templates added by `resource()`. */
export function createWriter<A, R>(
  options: WriteOptions<A>,
  fn: (this: never, arg: A) => R | Promise<R>,
  extraTags: string[],
  resolve: () => CacheContext = activeCache,
): WriteFunction<A, Awaited<R>> {
  if (typeof fn !== "function") throw new TypeError("Cannot wrap a write: expected a function");
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot wrap ${fn.name || "a write"}: expected an options object`);
  }
  const what = options.name ?? (fn.name || "an anonymous write");
  checkOptionNames(options, WRITE_OPTION_NAMES, `Cannot wrap ${what}`, NOT_FOR_WRITES);
  const tags = compileTags(options.tags, what, extraTags);
  const specs = checkRecacheSpecs(options.recache, `Cannot wrap ${what}`);
  if (fn.length > 1) {
    resolve().diagnostics.warnOnce(
      `params:${what}`,
      `${what} declares ${fn.length} parameters: cached functions take one object argument, so that tags stay stable`,
    );
  }

  const write = async function (this: unknown, arg?: A, call?: WriteCallOptions): Promise<Awaited<R>> {
    if (call !== undefined) checkOptionNames(call, WRITE_CALL_OPTION_NAMES, `Cannot call ${what}`);
    const cache = resolve();
    // Before the write runs: a write whose invalidation or recache cannot be handled must not happen at all.
    const tagList = renderTags(tags, arg as A, what, cache.diagnostics, true);
    const waitUntil = cache.work.waitUntilOf(call?.waitUntil);
    let result: Awaited<R>;
    try {
      result = await Reflect.apply(fn, this, [arg]);
    } catch (error) {
      await cache.invalidation.tags(tagList);
      throw error;
    }
    await cache.invalidation.tags(tagList);
    await recacheAll(cache, specs, arg as A, waitUntil);
    return result;
  };
  Object.defineProperty(write, "name", { value: what });
  return write as WriteFunction<A, Awaited<R>>;
}

/** The `recache` option of a write: an array of `recache(reader)` specs, or a `TypeError` that starts with `context`. */
export function checkRecacheSpecs<A>(
  specs: readonly RecacheSpec<A>[] | undefined,
  context: string,
): readonly RecacheSpec<A>[] {
  if (specs === undefined) return [];
  if (!Array.isArray(specs) || specs.some((s) => typeof s?.reader !== "function")) {
    throw new TypeError(`${context}: recache must be an array of recache(reader) specs`);
  }
  return specs;
}

/** Runs the recaches of a write: awaited, or handed to `waitUntil` when one is given. */
export async function recacheAll<A>(
  cache: CacheContext,
  specs: readonly RecacheSpec<A>[],
  arg: A,
  waitUntil?: WaitUntil,
): Promise<void> {
  if (specs.length === 0) return;
  const warming = Promise.all(specs.map((spec) => warm(cache, spec, arg)));
  if (waitUntil) cache.work.add(warming, waitUntil);
  else await warming;
}

/** Runs one recache; its errors are logged and counted, never thrown to the writer. */
async function warm<A>(cache: CacheContext, spec: RecacheSpec<A>, arg: A): Promise<void> {
  const name = spec.reader.cacheName;
  const started = performance.now();
  try {
    const params = spec.argument(arg);
    await (spec.reader.refresh as (arg: unknown) => Promise<unknown>)(params);
    const ms = performance.now() - started;
    cache.metrics.count("cache.warm.count", name);
    cache.metrics.time("cache.warm.ms", ms, name);
    cache.diagnostics.debug(`[WARM] key=${name} duration_ms=${ms.toFixed(1)}ms params=${safeJson(params)}`);
  } catch (error) {
    cache.diagnostics.reportError(`recache of ${name} failed: ${(error as Error)?.message ?? error}`);
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
