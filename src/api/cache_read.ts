/**
 * `cacheRead`: wraps an async loader so that its results are cached under a key rendered from its argument,
 * tagged, expired (with jitter), refreshed early, coalesced, and validated against tag versions on every hit.
 *
 * @module
 */

import type { CacheContext, InvalidationResult } from "../engine/context.ts";
import { checkSchema } from "../read/schema.ts";
import { activeCache } from "./default_cache.ts";
import { type CompiledTemplate, compileTemplate, type TemplateArg } from "../keys/template.ts";
import { compileTags } from "../keys/tags.ts";
import { checkTtl } from "../base/ttl.ts";
import { checkEntryShape } from "../load/entry_write.ts";
import { checkPositive } from "../base/positive.ts";
import {
  type CallOptions,
  type Loader,
  LOCK_OPTION_NAMES,
  READ_OPTION_NAMES,
  type ReadOptions,
} from "../read/options.ts";
import { Reader } from "../read/reader.ts";
import { checkOptionNames } from "./option_names.ts";

/** The argument list of a cached function: optional when the loader takes none. */
export type CachedArgs<A> = unknown extends A ? [arg?: A, options?: CallOptions]
  : [arg: A, options?: CallOptions];

/** A function wrapped by {@linkcode cacheRead}. */
export interface CachedFunction<A, R> {
  /** Returns the cached value, loading it on a miss. */
  (...args: CachedArgs<A>): Promise<R>;
  /** Loads a fresh value and stores it, whatever is cached (used by recache). */
  refresh(...args: CachedArgs<A>): Promise<R>;
  /** Removes this argument's entry. */
  invalidate(...args: CachedArgs<A>): Promise<InvalidationResult>;
  /** The logical key (without namespace) of this argument's entry. */
  key(...args: CachedArgs<A>): string;
  /** The name used in logs and metrics. */
  readonly cacheName: string;
}

/** Decorator context accepted in place of nothing when `cacheRead(options)` decorates a class method. */
export type MethodContext = { readonly kind: "method"; readonly name: string | symbol };

/**
 * Caches an async function's results.
 *
 * @example Manual decorator style
 * ```ts
 * import { cacheRead, TTL_LONG } from "@svc-infra/cache";
 * const getUserProfile = cacheRead({
 *   key: "user:{userId}:profile",
 *   ttl: TTL_LONG,
 *   tags: ["user:{userId}"],
 *   smoothExpiry: true,
 * }, async ({ userId }: { userId: number }) => ({ userId, name: "Ada" }));
 * console.log(await getUserProfile({ userId: 1 }));
 * ```
 *
 * @throws {TypeError} a malformed key or tag template; at call time, an argument lacking a key's property.
 * @throws {RangeError} a negative or non-finite `ttl` or `earlyTtl`, or `earlyTtl >= ttl`.
 */
export function cacheRead<K extends string, A extends TemplateArg<K>, R>(
  options: ReadOptions<K, A>,
  fn: Loader<A, R>,
): CachedFunction<A, Awaited<R>>;
/** Curried form, also usable as a TC39 method decorator: `@cacheRead({ key: "x:{id}" })`. */
export function cacheRead<K extends string>(
  options: ReadOptions<K, TemplateArg<K>>,
): <A extends TemplateArg<K>, R>(fn: Loader<A, R>, context?: MethodContext) => CachedFunction<A, Awaited<R>>;
export function cacheRead<K extends string, A, R>(
  options: ReadOptions<K, A>,
  fn?: Loader<A, R>,
):
  | CachedFunction<A, Awaited<R>>
  | ((fn: Loader<A, R>, context?: MethodContext) => CachedFunction<A, Awaited<R>>) {
  if (fn === undefined) {
    return (loader: Loader<A, R>, context?: MethodContext) =>
      createReader(options, loader, [], context ? String(context.name) : undefined);
  }
  return createReader(options, fn, []);
}

/** Builds a cached function; `extraTags` are templates added by `resource()`. */
export function createReader<A, R>(
  options: ReadOptions<string, A>,
  fn: Loader<A, R>,
  extraTags: string[],
  methodName?: string,
  resolve: () => CacheContext = activeCache,
  supersede = false,
): CachedFunction<A, Awaited<R>> {
  if (typeof fn !== "function") throw new TypeError("Cannot cache: expected a function to wrap");
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot cache ${fn.name || "a function"}: expected an options object`);
  }
  const what = options.name ?? (methodName || fn.name ||
    (typeof options.key === "string" ? options.key : "an anonymous function"));
  checkOptionNames(options, READ_OPTION_NAMES, `Cannot cache ${what}`);
  let keyTemplate: CompiledTemplate | undefined;
  if (typeof options.key === "string") keyTemplate = compileTemplate(options.key, what);
  else if (typeof options.key !== "function") {
    throw new TypeError(`Cannot cache ${what}: key must be a template string or a function of the argument`);
  }
  checkTtl(options.ttl, what);
  checkEntryShape(options, options.ttl, what);
  for (const name of ["timeoutMs", "hardTimeoutMs", "refreshBackoffMs", "beta"] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new RangeError(`Cannot cache ${what}: ${name} must be a number >= 0, current value is ${value}`);
    }
  }
  if (options.earlyRefresh !== undefined && options.earlyRefresh !== "probabilistic") {
    throw new TypeError(
      `Cannot cache ${what}: earlyRefresh must be "probabilistic", current value is ${options.earlyRefresh}`,
    );
  }
  checkLock(options.lock, `Cannot cache ${what}`);
  if (options.schema !== undefined) checkSchema(options.schema, what);
  const tags = compileTags(options.tags, what, extraTags);
  if (fn.length > 2) {
    resolve().diagnostics.warnOnce(
      `params:${what}`,
      `${what} declares ${fn.length} parameters: cached functions take one object argument, so that keys stay stable (the second is the loader's context)`,
    );
  }
  const reader = new Reader<A, Awaited<R>>(
    what,
    keyTemplate,
    options,
    tags,
    fn as Loader<A, Awaited<R>>,
    resolve,
    supersede,
  );

  const cached = function (this: unknown, arg?: A, call?: CallOptions) {
    return reader.get(this, arg as A, call);
  };
  Object.defineProperties(cached, {
    refresh: {
      value: function (this: unknown, arg?: A, call?: CallOptions) {
        return reader.get(this, arg as A, { ...call, force: true });
      },
    },
    invalidate: { value: (arg?: A) => reader.invalidate(arg as A) },
    key: { value: (arg?: A) => reader.logicalKey(arg as A) },
    cacheName: { value: what },
    name: { value: what },
  });
  return cached as unknown as CachedFunction<A, Awaited<R>>;
}

/** Checks a `lock` option; `context` starts the error message. */
export function checkLock(lock: ReadOptions<string, unknown>["lock"], context: string): void {
  if (lock === undefined || typeof lock === "boolean") return;
  if (typeof lock !== "object" || lock === null) {
    throw new TypeError(`${context}: lock must be a boolean or { ttlMs, pollMs }`);
  }
  checkOptionNames(lock, LOCK_OPTION_NAMES, `${context}: lock`);
  for (const name of ["ttlMs", "pollMs"] as const) {
    checkPositive(context, `lock.${name}`, lock[name]);
  }
}
