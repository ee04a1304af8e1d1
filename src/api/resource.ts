/**
 * `resource(name, idField)`: the seed's sugar for entity caching. Reads use key `{name}:{suffix}:{id}` and
 * tag `{name}:{id}`; writes invalidate `{name}:{id}`.
 *
 * @module
 */

import { type CachedFunction, createReader } from "./cache_read.ts";
import { type Loader, READ_OPTION_NAMES, type ReadOptions } from "../read/options.ts";
import { checkOptionNames } from "./option_names.ts";
import { createWriter, type WriteFunction, type WriteOptions } from "./cache_write.ts";
import type { CacheContext } from "../engine/context.ts";
import { activeCache } from "./default_cache.ts";
import type { TagsOption } from "../keys/tags.ts";

/** Options of {@linkcode Resource.cacheRead}. */
export interface ResourceReadOptions<A> extends Omit<ReadOptions<string, A>, "key" | "tags"> {
  /** Middle part of the key: `{name}:{suffix}:{id}`. */
  suffix: string;
  /** Tags added to the resource's own `{name}:{id}`. */
  tags?: TagsOption<A>;
}

/** Every option name of {@linkcode ResourceReadOptions}: the key is the resource's own. */
const RESOURCE_READ_OPTION_NAMES = [...READ_OPTION_NAMES.filter((name) => name !== "key"), "suffix"];

/** An entity's cache helpers, made by {@linkcode resource}. */
export interface Resource<I extends string> {
  /** The entity name, first part of keys and tags. */
  readonly name: string;
  /** The argument property holding the entity id. */
  readonly idField: I;
  /** Caches a read of the entity; its argument must have the id property. */
  cacheRead<A extends { readonly [P in I]: unknown }, R>(
    options: ResourceReadOptions<A>,
    fn: Loader<A, R>,
  ): CachedFunction<A, Awaited<R>>;
  /** Wraps a write of the entity: invalidates `{name}:{id}` (plus `options.tags`) when it settles. */
  cacheWrite<A extends { readonly [P in I]: unknown }, R>(
    options: WriteOptions<A>,
    fn: (this: never, arg: A) => R | Promise<R>,
  ): WriteFunction<A, Awaited<R>>;
  /** Wraps a write of the entity with default options. */
  cacheWrite<A extends { readonly [P in I]: unknown }, R>(
    fn: (this: never, arg: A) => R | Promise<R>,
  ): WriteFunction<A, Awaited<R>>;
}

const SEGMENT = /^[^{}]+$/;

/**
 * Creates the cache helpers of an entity.
 *
 * @example The seed's resource pattern
 * ```ts
 * import { resource, TTL_LONG } from "@svc-infra/cache";
 * const user = resource("user", "userId");
 * const getUserProfile = user.cacheRead({ suffix: "profile", ttl: TTL_LONG, smoothExpiry: true },
 *   async ({ userId }: { userId: number }) => ({ userId, name: "John Doe" }));
 * const updateUserProfile = user.cacheWrite(async ({ userId }: { userId: number; data: object }) => userId);
 * await getUserProfile({ userId: 123 });
 * await updateUserProfile({ userId: 123, data: { name: "New Name" } });
 * ```
 *
 * @throws {TypeError} when `name` or `idField` is empty or contains braces.
 */
export function resource<I extends string>(name: string, idField: I): Resource<I> {
  return createResource(name, idField, activeCache);
}

/** A resource whose functions use the cache `resolve` returns. */
export function createResource<I extends string>(
  name: string,
  idField: I,
  resolve: () => CacheContext,
): Resource<I> {
  if (typeof name !== "string" || !SEGMENT.test(name)) {
    throw new TypeError(
      `Cannot create resource: name must be a non-empty string without braces, current value is ${
        JSON.stringify(name)
      }`,
    );
  }
  if (typeof idField !== "string" || !/^[A-Za-z_$][\w$]*$/.test(idField)) {
    throw new TypeError(
      `Cannot create resource ${name}: idField must be a property name, current value is ${
        JSON.stringify(idField)
      }`,
    );
  }
  const ownTag = `${name}:{${idField}}`;
  return {
    name,
    idField,
    cacheRead(options, fn) {
      if (typeof options === "object" && options !== null) {
        checkOptionNames(options, RESOURCE_READ_OPTION_NAMES, `Cannot cache ${name}`, {
          key: "a resource's key is {name}:{suffix}:{id}, give suffix",
        });
      }
      if (typeof options?.suffix !== "string" || !SEGMENT.test(options.suffix)) {
        throw new TypeError(`Cannot cache ${name}: suffix must be a non-empty string without braces`);
      }
      const key = `${name}:${options.suffix}:{${idField}}`;
      const { suffix: _suffix, ...readOptions } = options;
      const named = { ...readOptions, key, name: options.name ?? (fn.name || key) };
      return createReader(named, fn, [ownTag], undefined, resolve);
    },
    cacheWrite<A, R>(
      optionsOrFn: WriteOptions<A> | ((this: never, arg: A) => R | Promise<R>),
      fn?: (this: never, arg: A) => R | Promise<R>,
    ) {
      return typeof optionsOrFn === "function"
        ? createWriter({}, optionsOrFn, [ownTag], resolve)
        : createWriter(optionsOrFn ?? {}, fn!, [ownTag], resolve);
    },
  } as Resource<I>;
}
