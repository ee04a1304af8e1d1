/**
 * `cacheRead`: wraps an async loader so that its results are cached under a key rendered from its argument,
 * tagged, expired (with jitter), refreshed early, coalesced, and validated against tag versions on every hit.
 *
 * @module
 */

import {
  activeCache,
  type CacheContext,
  type Flight,
  type LoadResult,
  metrics,
  type WaitUntil,
} from "./context.ts";
import {
  type CompiledTemplate,
  compileTemplate,
  renderTemplate,
  type TemplateArg,
  utf8Length,
} from "./keys.ts";
import { type CompiledTags, compileTags, renderTags, type TagsOption } from "./tags.ts";
import { checkTtl, type Ttl } from "./ttl.ts";
import { decodeEntry, encodeEntry, type Entry, type EntryMeta } from "./entry.ts";
import { type Encoded, revive, serialize } from "./codec.ts";
import { isNegativeCacheResult, negativeCache } from "./negative.ts";

/** Options of one call of a cached function (the optional second argument). */
export interface CallOptions {
  /** Receives background work (early refresh, recache) so the platform keeps it alive after the response. */
  waitUntil?: WaitUntil;
  /** Rejects this call when aborted; a load shared with other callers keeps running for them. */
  signal?: AbortSignal;
  /** Skips the cache read, runs the loader and stores its fresh value. */
  force?: boolean;
}

/** Options of {@linkcode cacheRead}. */
export interface ReadOptions<K extends string, A> {
  /** A template such as `"user:{userId}:profile"` (checked against the argument's type), or a function. */
  key: K | ((arg: A) => string);
  /** Seconds, or `"short" | "default" | "long"`; `0` disables caching. @default {"default"} (`CACHE_TTL_DEFAULT`) */
  ttl?: Ttl;
  /** Tags for invalidation: templates rendered from the argument, or a function of it. */
  tags?: TagsOption<A>;
  /** Spreads expiry: each entry's ttl is drawn from ttl ± 10 % when written. */
  smoothExpiry?: boolean;
  /** Seconds after which a hit still returns the cached value but refreshes it in the background, once. */
  earlyTtl?: number;
  /** Name in logs, metrics and errors. @default {the function's name, else the key template} */
  name?: string;
}

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
  invalidate(...args: CachedArgs<A>): Promise<void>;
  /** The logical key (without namespace) of this argument's entry. */
  key(...args: CachedArgs<A>): string;
  /** The name used in logs and metrics. */
  readonly cacheName: string;
}

/** A loader: one object argument (or none), returning a value or a promise of one. */
export type Loader<A, R> = (this: never, arg: A) => R | Promise<R>;

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
): CachedFunction<A, Awaited<R>> {
  if (typeof fn !== "function") throw new TypeError("Cannot cache: expected a function to wrap");
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot cache ${fn.name || "a function"}: expected an options object`);
  }
  const what = options.name ?? (methodName || fn.name ||
    (typeof options.key === "string" ? options.key : "an anonymous function"));
  let keyTemplate: CompiledTemplate | undefined;
  if (typeof options.key === "string") keyTemplate = compileTemplate(options.key, what);
  else if (typeof options.key !== "function") {
    throw new TypeError(`Cannot cache ${what}: key must be a template string or a function of the argument`);
  }
  checkTtl(options.ttl, what);
  if (options.earlyTtl !== undefined) {
    checkTtl(options.earlyTtl, what, "earlyTtl");
    if (typeof options.ttl === "number" && options.earlyTtl >= options.ttl) {
      throw new RangeError(
        `Cannot cache ${what}: earlyTtl must be less than ttl, current values are ${options.earlyTtl} and ${options.ttl}`,
      );
    }
  }
  const tags = compileTags(options.tags, what, extraTags);
  if (fn.length > 1) {
    activeCache().warnOnce(
      `params:${what}`,
      `${what} declares ${fn.length} parameters: cached functions take one object argument, so that keys stay stable`,
    );
  }
  const reader = new Reader<A, Awaited<R>>(what, keyTemplate, options, tags, fn as Loader<A, Awaited<R>>);

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

/** Everything one call needs, computed once per call. */
interface Job<A> {
  readonly cache: CacheContext;
  readonly thisArg: unknown;
  readonly arg: A;
  readonly logical: string;
  /** The entry key, then the tag-version keys: what a hit reads in one batch. */
  readonly keys: readonly string[];
  readonly ttl: number;
  readonly waitUntil?: WaitUntil;
}

const NOTHING: unique symbol = Symbol("nothing");

class Reader<A, R> {
  readonly #what: string;
  readonly #keyTemplate?: CompiledTemplate;
  readonly #options: ReadOptions<string, A>;
  readonly #tags: CompiledTags<A>;
  readonly #fn: Loader<A, R>;

  constructor(
    what: string,
    keyTemplate: CompiledTemplate | undefined,
    options: ReadOptions<string, A>,
    tags: CompiledTags<A>,
    fn: Loader<A, R>,
  ) {
    this.#what = what;
    this.#keyTemplate = keyTemplate;
    this.#options = options;
    this.#tags = tags;
    this.#fn = fn;
  }

  logicalKey(arg: A): string {
    if (this.#keyTemplate) return renderTemplate(this.#keyTemplate, arg, this.#what);
    const key = (this.#options.key as (arg: A) => string)(arg);
    if (typeof key !== "string" || key === "" || !key.isWellFormed()) {
      throw new TypeError(
        `Cannot cache ${this.#what}: the key function must return a non-empty, well-formed string`,
      );
    }
    return key;
  }

  get(thisArg: unknown, arg: A, call?: CallOptions): Promise<R> {
    try {
      const cache = activeCache();
      const ttl = cache.ttlSeconds(this.#options.ttl);
      if (ttl === 0) {
        metrics.count("cache.skip", this.#what);
        return Promise.resolve(Reflect.apply(this.#fn, thisArg, [arg]));
      }
      const logical = this.logicalKey(arg);
      const tagList = renderTags(this.#tags, arg, this.#what, cache);
      // Keys are strings unless one is long enough to need hashing (async Web Crypto): keep the common case sync.
      const keys: (string | Promise<string>)[] = [cache.entryKey(logical)];
      let pending = typeof keys[0] !== "string";
      for (const tag of tagList) {
        const key = cache.tagKey(tag);
        if (typeof key !== "string") pending = true;
        keys.push(key);
      }
      const start = (resolved: readonly string[]) => {
        const job: Job<A> = {
          cache,
          thisArg,
          arg,
          logical,
          keys: resolved,
          ttl,
          waitUntil: call?.waitUntil ?? cache.settings.waitUntil,
        };
        return call?.force
          ? this.#start(job, undefined, "forced").promise.then((r) => r.value as R)
          : this.#lookup(job);
      };
      const result = pending ? Promise.all(keys).then(start) : start(keys as string[]);
      return call?.signal ? abortable(result, call.signal) : result;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async invalidate(arg: A): Promise<void> {
    const cache = activeCache();
    const entryKey = await cache.entryKey(this.logicalKey(arg));
    cache.inflight.delete(entryKey);
    await cache.run("delete", (signal) => cache.store.deleteMany([entryKey], { signal }));
  }

  async #lookup(job: Job<A>): Promise<R> {
    const { cache, keys } = job;
    const started = cache.settings.debug ? performance.now() : 0;
    let raws: (string | null)[] | undefined;
    try {
      raws = await cache.run("read", (signal) => cache.store.getMany(keys, { signal }));
    } catch { /* reported by run(), or skipped by the open breaker; served from the loader below */ }
    let cause = raws ? "cache_miss" : "cache_unavailable";
    const raw = raws?.[0];
    if (raws && raw) {
      const entry = decodeEntry(raw);
      const now = cache.settings.clock.now();
      if (entry === undefined) cause = await this.#corrupt(job);
      else if (!versionsMatch(entry.versions, raws) || cache.hasPendingInvalidation(keys)) {
        cause = "invalidated";
      } else if (now >= entry.staleUntil) cause = "expired";
      else {
        const value = readValue(entry);
        if (value === NOTHING) cause = await this.#corrupt(job);
        else {
          this.#hit(job, entry, started);
          if (now >= entry.refreshAt && !cache.inflight.has(keys[0])) {
            metrics.count("cache.refresh", this.#what);
            cache.background(this.#start(job, raws.slice(1), "early_refresh").promise, job.waitUntil);
          }
          return value as R;
        }
      }
    }
    metrics.count("cache.miss", this.#what);
    const shared = cache.inflight.get(keys[0]);
    if (shared) return shared.promise.then((r) => r.copy() as R);
    const own = this.#start(job, raws?.slice(1), cause);
    return (await own.promise).value as R;
  }

  #hit(job: Job<A>, entry: Entry, started: number) {
    metrics.count("cache.hit", this.#what);
    if (entry.negative) metrics.count("cache.negative", this.#what);
    if (job.cache.settings.debug) {
      job.cache.debug(
        `[HIT] key=${job.logical} duration_ms=${(performance.now() - started).toFixed(1)}ms ttl=${entry.ttl}`,
      );
    }
  }

  /** A stored value we cannot read: counted (never as an outage), deleted, then loaded afresh. */
  async #corrupt(job: Job<A>): Promise<string> {
    const { cache, keys } = job;
    cache.reportError(
      `unreadable entry for ${this.#what} at key ${job.logical}: treated as a miss and deleted`,
    );
    try {
      await cache.run("delete", (signal) => cache.store.deleteMany([keys[0]], { signal }));
    } catch { /* reported by run() */ }
    return "corrupt";
  }

  /** Starts a load and registers it so that concurrent callers of the key share it. */
  #start(job: Job<A>, observed: (string | null)[] | undefined, cause: string): Flight {
    const { cache, keys } = job;
    const flight: Flight = { tagKeys: keys.slice(1), promise: this.#load(job, observed, cause) };
    cache.inflight.set(keys[0], flight);
    const release = () => {
      if (cache.inflight.get(keys[0]) === flight) cache.inflight.delete(keys[0]);
    };
    flight.promise.then(release, release);
    return flight;
  }

  async #load(job: Job<A>, observed: (string | null)[] | undefined, cause: string): Promise<LoadResult> {
    const { cache, keys } = job;
    let versions: string[] | undefined;
    try {
      versions = keys.length === 1 ? [] : await cache.tagVersions(keys.slice(1), observed);
    } catch { /* reported by run(); the value is returned but not stored */ }
    const started = performance.now();
    const value = await Reflect.apply(this.#fn, job.thisArg, [job.arg]);
    const duration = performance.now() - started;
    metrics.count("cache.load", this.#what);
    metrics.time("cache.load.ms", duration, this.#what);
    const negative = isNegativeCacheResult(value);
    const ttl = negative ? value.ttl : job.ttl;
    cache.debug(`[MISS] key=${job.logical} duration_ms=${duration.toFixed(1)}ms ttl=${ttl} cause=${cause}`);
    let encoded: Encoded;
    try {
      encoded = serialize(negative ? value.value : value, this.#what);
    } catch (error) {
      metrics.count("cache.error", this.#what);
      cache.warnOnce(
        `serialize:${this.#what}`,
        `${(error as Error).message}; results are returned but not cached`,
      );
      return { value, copy: () => value };
    }
    if (versions !== undefined && ttl > 0) await this.#store(job, encoded, negative, ttl, versions);
    return { value, copy: () => readEncoded(encoded, negative, ttl) };
  }

  async #store(job: Job<A>, encoded: Encoded, negative: boolean, ttl: number, versions: string[]) {
    const { cache } = job;
    const { clock, random } = cache.settings;
    const now = clock.now();
    // smoothExpiry draws the entry's own lifetime from ttl ± 10 %; earlyTtl scales with it.
    const factor = this.#options.smoothExpiry ? 0.9 + random() * 0.2 : 1;
    const lifetimeMs = Math.max(1, Math.round(ttl * 1000 * factor));
    const early = this.#options.earlyTtl;
    const meta: EntryMeta = {
      createdAt: now,
      freshUntil: now + lifetimeMs,
      refreshAt: early !== undefined && !negative
        ? now + Math.round(early * 1000 * factor)
        : now + lifetimeMs,
      staleUntil: now + lifetimeMs,
      negative,
      ttl,
      versions,
    };
    const value = encodeEntry(meta, encoded);
    const max = cache.store.capabilities.maxValueBytes;
    if (value.length > max || (value.length * 3 > max && utf8Length(value) > max)) {
      metrics.count("cache.error", this.#what);
      cache.warnOnce(
        `size:${this.#what}`,
        `a result of ${this.#what} is larger than the ${cache.store.name} store accepts (${max} bytes); such results are returned but not cached`,
      );
      return;
    }
    try {
      await cache.run(
        "write",
        (signal) =>
          cache.store.setMany([{ key: job.keys[0], value, ttlMs: meta.staleUntil - now }], { signal }),
      );
    } catch { /* reported by run(); the caller still gets its value */ }
  }
}

function versionsMatch(stored: readonly string[], raws: readonly (string | null)[]): boolean {
  if (stored.length !== raws.length - 1) return false;
  for (let i = 0; i < stored.length; i++) if (stored[i] !== raws[i + 1]) return false;
  return true;
}

function readValue(entry: Entry): unknown {
  try {
    const value = revive(entry.parsed, entry.json);
    return entry.negative ? negativeCache({ ttl: entry.ttl, value }) : value;
  } catch {
    return NOTHING;
  }
}

function readEncoded(encoded: Encoded, negative: boolean, ttl: number): unknown {
  const value = revive(JSON.parse(encoded.text), encoded.json);
  return negative ? negativeCache({ ttl, value }) : value;
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then((value) => {
      signal.removeEventListener("abort", onAbort);
      resolve(value);
    }, (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
  });
}
