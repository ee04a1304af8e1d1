/**
 * The loader's context: what a load knows of the entry it replaces, and how the loader decides the caching of
 * its own result (keep the stale value, its ttl, not caching it). Made for loads only: a hit builds none.
 *
 * @module
 */

import { isName } from "../keys/name.ts";
import { checkSeconds } from "../base/ttl.ts";

/** The entry a load replaces, when it is still stored and valid (see {@linkcode LoaderContext.stale}). */
export interface StaleEntry {
  /** The stored value (before any `schema`). */
  readonly value: unknown;
  /** When it was stored (the cache's clock, ms since the epoch). */
  readonly storedAt: number;
  /** What the load that stored it gave `ctx.setEtag`. */
  readonly etag: string | undefined;
}

/**
 * The second argument of a `cacheRead` (or `resource`) loader, the only one of a `getOrSet` loader.
 *
 * @example Conditional refresh
 * ```ts
 * import { createCache, type LoaderContext } from "@svc-infra/cache";
 * const cache = await createCache();
 * let version = 1;
 * const load = (ctx: LoaderContext) => {
 *   if (ctx.stale && version === 1) return ctx.notModified(); // the source says nothing changed
 *   if (version === 0) ctx.skip(); // returned, not cached
 *   return { version };
 * };
 * console.log(await cache.getOrSet("config", load, { ttl: 60 })); // { version: 1 }
 * ```
 */
export interface LoaderContext {
  /**
   * The entry this load replaces while it is still stored and valid: past its ttl within its `staleTtl` (an
   * entry without grace leaves the store when it expires), refreshed early (`earlyTtl`, XFetch), softly
   * invalidated. `undefined` on a first load and after a hard invalidation.
   */
  readonly stale: StaleEntry | undefined;
  /**
   * Keeps the stale value: it is returned and stored again, fresh for this load's ttl. Use as
   * `return ctx.notModified()`.
   *
   * @throws {TypeError} without a stale entry, or once the loader settled.
   */
  notModified(): never;
  /**
   * This result's ttl in seconds, instead of the function's; `0` stores nothing.
   *
   * @throws {RangeError} a negative or non-finite number.
   * @throws {TypeError} once the loader settled.
   */
  setTtl(seconds: number): void;
  /**
   * Stores `etag` with this result, offered to the load that replaces it as `ctx.stale.etag` (for a
   * conditional request: `if-none-match`). `null` or `undefined` store none. A kept stale value
   * (`notModified()`) keeps its etag unless this sets another.
   *
   * @throws {TypeError} anything but a string, `null` or `undefined`; once the loader settled.
   */
  setEtag(etag: string | null | undefined): void;
  /**
   * Tags this result with `tags` as well as the declared ones, for tags known only once the data is loaded: an
   * invalidation of any of them makes the entry a miss, like one of a declared tag. The first load of a key that
   * adds a tag stores an entry that is not served (the tag's version was not read before that load, so an
   * invalidation made during it could be missed); it names the tag, and the next load reads its version first,
   * like a declared tag's, and stores an entry that is served. Calls add up; a declared tag is ignored.
   *
   * @example
   * ```ts
   * import { cacheRead, invalidateTags } from "@svc-infra/cache";
   * const users = new Map([[1, { name: "Ada", orgId: 7 }]]);
   * const getUser = cacheRead({ key: "user:{id}", ttl: 60 }, ({ id }: { id: number }, ctx) => {
   *   const user = users.get(id)!;
   *   ctx.addTags(`org:${user.orgId}`); // known only once loaded
   *   return user;
   * });
   * await getUser({ id: 1 });
   * await invalidateTags("org:7"); // getUser({ id: 1 }) loads again
   * ```
   *
   * @throws {TypeError} a tag that is not a non-empty, well-formed string; once the loader settled.
   */
  addTags(...tags: string[]): void;
  /**
   * Returns the result without caching it.
   *
   * @throws {TypeError} once the loader settled.
   */
  skip(): void;
}

/** What `notModified()` returns: replaced by the stale value when the loader returns it. */
const NOT_MODIFIED: unique symbol = Symbol("not modified");

/** One load's context and what its loader decided. */
export class LoadContext implements LoaderContext {
  /** Seconds set by `setTtl`. */
  ttl: number | undefined;
  /** What the result is stored with: set by `setEtag`, or the stale entry's when it is kept. */
  etag: string | undefined;
  #etagSet = false;
  skipped = false;
  /** `true` when the loader kept the stale value (`notModified()`). */
  kept = false;
  /** Tags added by `addTags`, in the order first added; `undefined` when none (most loads). */
  addedTags: Set<string> | undefined;
  readonly #what: string;
  /** Decodes the replaced entry: only when the loader asks (most loads never do). */
  #findStale: (() => StaleEntry | undefined) | undefined;
  #stale: StaleEntry | undefined;
  #settled = false;

  constructor(what: string, findStale?: () => StaleEntry | undefined) {
    this.#what = what;
    this.#findStale = findStale;
  }

  get stale(): StaleEntry | undefined {
    if (this.#findStale) {
      this.#stale = this.#findStale();
      this.#findStale = undefined;
    }
    return this.#stale;
  }

  notModified(): never {
    this.#open("notModified");
    if (this.stale === undefined) {
      throw new TypeError(
        `Cannot keep the stale value of ${this.#what}: this load replaces no valid entry (ctx.stale is undefined)`,
      );
    }
    return NOT_MODIFIED as never;
  }

  setTtl(seconds: number): void {
    this.#open("setTtl");
    checkSeconds(seconds, `${this.#what}'s result`, "setTtl's ttl");
    this.ttl = seconds;
  }

  setEtag(etag: string | null | undefined): void {
    this.#open("setEtag");
    if (etag !== null && etag !== undefined && typeof etag !== "string") {
      throw new TypeError(
        `Cannot set the etag of ${this.#what}'s result: it must be a string, null or undefined, current value is ${typeof etag}`,
      );
    }
    this.etag = etag ?? undefined;
    this.#etagSet = true;
  }

  addTags(...tags: string[]): void {
    this.#open("addTags");
    for (const tag of tags) {
      if (!isName(tag)) {
        throw new TypeError(
          `Cannot add a tag to ${this.#what}'s result: a tag must be a non-empty, well-formed string, current value is ${
            typeof tag === "string" ? JSON.stringify(tag) : typeof tag
          }`,
        );
      }
    }
    this.addedTags ??= new Set();
    for (const tag of tags) this.addedTags.add(tag);
  }

  skip(): void {
    this.#open("skip");
    this.skipped = true;
  }

  /**
   * Ends the context once the loader settled with `value`: the stale value when it returned `notModified()`.
   * Later calls are `TypeError`s.
   */
  settle(value: unknown): unknown {
    this.#settled = true;
    if (value !== NOT_MODIFIED) return value;
    this.kept = true;
    if (!this.#etagSet) this.etag = this.stale!.etag;
    return this.stale!.value;
  }

  /** Ends the context of a loader that threw. */
  fail(): void {
    this.#settled = true;
  }

  #open(call: string) {
    if (this.#settled) {
      throw new TypeError(`Cannot call ctx.${call}() for ${this.#what}: its loader has already settled`);
    }
  }
}
