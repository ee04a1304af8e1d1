/**
 * A cache instance and its imperative API: `getOrSet`, `get`, `set`, `delete`, `has`, `invalidateTags`, the
 * wrappers bound to it, its metrics. Every method is a thin door onto the same engine the wrappers use (one
 * `CacheContext`), so a `getOrSet` and a `cacheRead` that render the same key read the same entry.
 *
 * @module
 */

import type { CacheContext, InvalidationResult } from "../engine/context.ts";
import type { Undelivered } from "../engine/invalidation_queue.ts";
import type { CacheStore } from "../store/store.ts";
import type { Metrics } from "../observe/metrics.ts";
import type { CacheEventListener, CacheEventType } from "../observe/events.ts";
import { type CachedFunction, createReader } from "./cache_read.ts";
import { createWriter, type WriteFunction, type WriteOptions } from "./cache_write.ts";
import { createResource, type Resource } from "./resource.ts";
import { checkLoader, type Loader, type ReadOptions } from "../read/options.ts";
import type { TemplateArg } from "../keys/template.ts";
import { getStored, readStored, readStoredMany } from "../read/by_key.ts";
import { getOrSetMany, type GetOrSetManyOptions, type ManyLoader } from "../read/get_or_set_many.ts";
import { checkOptions } from "./option_names.ts";
import {
  checkKey,
  checkKeys,
  GET_OR_SET_OPTION_NAMES,
  type GetOrSetOptions,
  INVALIDATE_OPTION_NAMES,
  type InvalidateOptions,
  SET_OPTION_NAMES,
  type SetOptions,
} from "./cache_options.ts";
import { listKeys } from "./listing.ts";
import { literalReader } from "./literal_reader.ts";
import { checkSettable } from "../load/entry_write.ts";
import { childEngine, CONTEXT } from "./engine_of.ts";

export type { GetOrSetOptions, InvalidateOptions, SetOptions } from "./cache_options.ts";
import type { LoaderContext } from "../load/loader_context.ts";

/**
 * One cache: a store, a namespace, settings, metrics and its own queue of undelivered invalidations. Made by
 * {@linkcode createCache}; the default cache (the one `initCache` configures) is `instance()`.
 *
 * @example
 * ```ts
 * import { createCache } from "@svc-infra/cache";
 * const cache = await createCache({ prefix: "app" });
 * const user = await cache.getOrSet("user:1", async () => ({ id: 1, name: "Ada" }), { ttl: 60, tags: ["user:1"] });
 * await cache.invalidateTags(["user:1"]);
 * console.log(user.name, await cache.get("user:1")); // "Ada" undefined
 * await cache.close();
 * ```
 */
export class Cache {
  readonly #resolve: () => CacheContext;
  readonly #close: () => Promise<Undelivered>;

  /** @internal The engine, for entry points such as `prometheusMetrics` (of any copy of the library). */
  declare readonly [CONTEXT]: () => CacheContext;

  /** @internal Use {@linkcode createCache} or `instance()`. */
  constructor(resolve: () => CacheContext, close: () => Promise<Undelivered>) {
    this.#resolve = resolve;
    this.#close = close;
    // Set here, not as a method: bundlers keep a class with a computed method key even where it is unused.
    Object.defineProperty(this, CONTEXT, { value: resolve });
  }

  /** The store. */
  get store(): CacheStore {
    return this.#resolve().store;
  }

  /**
   * What every stored key of this cache starts with: `{prefix}:{version}:`, then `n:{name}:` for each
   * {@linkcode namespace} step.
   */
  get keyPrefix(): string {
    return this.#resolve().keys.namespace;
  }

  /**
   * A child cache on the same store and connection, with the same settings, counters, listeners and queue,
   * whose entries, tags and locks are apart from this cache's and from its siblings'. Its
   * {@linkcode clear} clears it (and the namespaces under it) only; this cache's `clear()` clears it too. On a
   * remote store its hits still take one round trip: the generations they depend on are read with the entry.
   * The same name gives the same namespace. Closing a namespace does nothing: close the cache it comes from.
   *
   * @example
   * ```ts
   * import { createCache } from "@svc-infra/cache";
   * const cache = await createCache({ prefix: "app" });
   * const users = cache.namespace("users");
   * await users.set("1", { name: "Ada" }, { ttl: 60 });
   * await cache.set("1", "not a user", { ttl: 60 });
   * await users.clear();
   * console.log(await users.get("1"), await cache.get("1")); // undefined "not a user"
   * await cache.close();
   * ```
   *
   * @throws {TypeError} a name that is not a non-empty string of letters, digits and `_.@-`.
   * @throws {RangeError} a namespace nested more than 8 levels under its cache.
   */
  namespace(name: string): Cache {
    return new Cache(childEngine(this.#resolve, name), () => Promise.resolve({ keys: [], namespace: false }));
  }

  /**
   * Makes every entry of this cache, and of the namespaces under it, a miss in every process sharing the
   * store: one delete (of the namespace's generation key), however many entries there are (an in-process store
   * marks them gone at once, in O(1) too). Delivered, queued and retried as {@linkcode invalidateTags} is:
   * once it resolves, no entry stored before it is served here, and none anywhere once `landed` settles; a
   * load in flight does not store.
   *
   * @example
   * ```ts
   * import { createCache } from "@svc-infra/cache";
   * const cache = await createCache();
   * await cache.set("a", 1, { ttl: 60 });
   * const { delivered, landed } = await cache.clear();
   * await landed;
   * console.log(delivered, await cache.get("a")); // true undefined
   * ```
   */
  async clear(): Promise<InvalidationResult> {
    return await this.#resolve().invalidation.clear();
  }

  /**
   * The value cached at `key`, or the loader's (then cached) on a miss; concurrent callers share one load.
   * Options mean what they mean for `cacheRead`. The loader gets the load's `LoaderContext` (`ctx.stale`,
   * `ctx.notModified()`, `ctx.setTtl()`, `ctx.setEtag()`, `ctx.addTags()`, `ctx.skip()`).
   */
  getOrSet<R>(
    key: string,
    loader: (ctx: LoaderContext) => R | Promise<R>,
    options: GetOrSetOptions = {},
  ): Promise<Awaited<R>> {
    try {
      const context = `Cannot cache ${JSON.stringify(key)}`;
      checkOptions(options, GET_OR_SET_OPTION_NAMES, context);
      checkLoader(loader, context);
      const call = { waitUntil: options.waitUntil, signal: options.signal, force: options.force };
      return literalReader(key, options, this.#resolve)(loader, call) as Promise<Awaited<R>>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Values for `keys`, in their order: one batch read for all of them and their tags, one call of `loader`
   * with only the missing keys (values in the same order, or a `Map`), one batch write. Concurrent calls that
   * overlap share loads. The loader's second argument holds each missing key's {@linkcode LoaderContext} (in
   * the order of `missing`; a key whose loader added a tag, joined by a read that did not cover that tag, is
   * loaded once more, as `getOrSet` does); `schema` validates as `cacheRead`'s does.
   *
   * @example
   * ```ts
   * import { createCache } from "@svc-infra/cache";
   * const cache = await createCache();
   * const users = await cache.getOrSetMany(["user:1", "user:2"],
   *   async (missing) => missing.map((key) => ({ key })), { ttl: 60, tags: (key) => [key] });
   * console.log(users); // [{ key: "user:1" }, { key: "user:2" }]
   * ```
   *
   * @throws {TypeError} a loader that returns no value for some keys (named; nothing is cached); a
   * `SchemaError` (a `TypeError`) for a loaded value that fails `schema` (not cached).
   */
  async getOrSetMany<R>(
    keys: readonly string[],
    loader: ManyLoader<R>,
    options: GetOrSetManyOptions = {},
  ): Promise<Awaited<R>[]> {
    return await getOrSetMany(this.#resolve(), keys, loader, options);
  }

  /** The fresh value at `key`; `undefined` when absent, expired or invalidated. Never loads. */
  async get<T = unknown>(key: string): Promise<T | undefined> {
    return await getStored(this.#resolve(), checkKey(key, "get")) as T | undefined;
  }

  /** `true` when `key` holds a fresh, valid entry. */
  async has(key: string): Promise<boolean> {
    return (await readStored(this.#resolve(), checkKey(key, "check"))) !== undefined;
  }

  /**
   * Stores `value` at `key` (creating its tags' versions). Like a load, the write loses to an invalidation
   * that lands while it is in flight; a load in flight elsewhere, claimed before it, cannot store over it.
   * @throws {TypeError} a value that cannot be stored (a function, a class instance without a registered type).
   * @throws {RangeError} a value whose entry is larger than the store accepts (its `maxValueBytes`).
   */
  async set(key: string, value: unknown, options: SetOptions = {}): Promise<void> {
    const what = JSON.stringify(key);
    checkOptions(options, SET_OPTION_NAMES, `Cannot set ${what}`);
    const set = literalReader(key, { ...options, name: "set" }, this.#resolve, true); // checks key and tags
    const hashed = checkSettable(this.#resolve(), value, options.tags ?? [], what); // a tick only then
    if (hashed) await hashed;
    await set(() => value, { force: true });
  }

  /** Removes the entry at `key`; a load in flight cannot undo it. */
  async delete(key: string): Promise<InvalidationResult> {
    const cache = this.#resolve();
    return await cache.invalidation.entries([cache.keys.entryKey(checkKey(key, "delete"))]);
  }

  /** Invalidates tags: every tagged entry becomes a miss (or, `soft`, stale). */
  async invalidateTags(
    tags: readonly string[],
    options: InvalidateOptions = {},
  ): Promise<InvalidationResult> {
    checkKeys(tags, "invalidate", "tags");
    checkOptions(options, INVALIDATE_OPTION_NAMES, "Cannot invalidate");
    return await this.#resolve().invalidation.tags(tags, options.soft === true);
  }

  /** `cacheRead` bound to this cache. */
  cacheRead<K extends string, A extends TemplateArg<K>, R>(
    options: ReadOptions<K, A>,
    fn: Loader<A, R>,
  ): CachedFunction<A, Awaited<R>> {
    return createReader(options, fn, [], undefined, this.#resolve);
  }

  /** `cacheWrite` bound to this cache. */
  cacheWrite<A, R>(
    options: WriteOptions<A>,
    fn: (this: never, arg: A) => R | Promise<R>,
  ): WriteFunction<A, Awaited<R>> {
    return createWriter(options, fn, [], this.#resolve);
  }

  /** `resource` bound to this cache. */
  resource<I extends string>(name: string, idField: I): Resource<I> {
    return createResource(name, idField, this.#resolve);
  }

  /**
   * Logical keys (without namespace) of stored entries matching a glob such as `"user:*"`, this cache's and
   * its namespaces': a namespace's keys after its path, each name followed by `/` (`users/1`,
   * `users/admins/7`), so `keys("users/*")` lists the `users` namespace. A key of this cache that itself
   * starts with a namespace's name and `/` cannot be told from that namespace's: list the namespace
   * (`namespace("users").keys()`) to be sure. On a remote store, entries made misses by `clear()` are listed
   * until they expire (diagnostics: the store is scanned, not validated).
   */
  keys(pattern = "*"): Promise<string[]> {
    return listKeys(this.#resolve(), pattern);
  }

  /**
   * The values at `keys`, in their order: for each, what {@linkcode get} gives (`undefined` when absent,
   * expired, invalidated or its invalidation is queued), with one store request for the entries L1 does not
   * serve and one for their versions.
   *
   * @throws {TypeError} keys that are not an array of non-empty, well-formed strings.
   */
  async getMany(keys: readonly string[]): Promise<unknown[]> {
    const found = await readStoredMany(this.#resolve(), checkKeys(keys, "get"));
    return found.map((stored) => stored?.value);
  }

  /** This cache's counters, with the names of `getMetrics()`. */
  metrics(): Metrics {
    return this.#resolve().metrics.snapshot();
  }

  /** Zeroes this cache's counters. */
  resetMetrics(): void {
    this.#resolve().metrics.reset();
  }

  /**
   * Calls `listener` with every event of `type` this cache has from now on (for the default cache, across
   * `initCache` calls); returns a function that removes it. Events carry the key, the function, the tier
   * and the duration (see `CacheEvent`). A listener that throws or rejects is logged once and never
   * breaks the call; a cache without listeners builds no events.
   *
   * @example
   * ```ts
   * import { createCache } from "@svc-infra/cache";
   * const cache = await createCache();
   * const stop = cache.on("miss", (event) => console.log("miss", event.key, event.durationMs));
   * await cache.getOrSet("user:1", () => ({ id: 1 }));
   * stop();
   * ```
   *
   * @throws {TypeError} an unknown event type, or a listener that is not a function.
   */
  on(type: CacheEventType, listener: CacheEventListener): () => void {
    return this.#resolve().diagnostics.events.on(type, listener);
  }

  /** Finishes background work, delivers queued invalidations, releases its connections; resolves with what is left. */
  close(): Promise<Undelivered> {
    return this.#close();
  }
}
