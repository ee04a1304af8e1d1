/**
 * Events: what a cache did, one call at a time, for listeners registered with `cache.on(type, listener)`.
 * A cache without listeners builds no events (one boolean is read on each path), and a listener that
 * throws or rejects never reaches the call that caused the event.
 *
 * @module
 */

/** What happened: a hit (`stale` for a stale one), a miss, a load, an error, an invalidation, a store call. */
export type CacheEventType = "hit" | "miss" | "stale" | "load" | "error" | "invalidate" | "backend";

/** One event. Fields that do not apply to its type are absent. */
export interface CacheEvent {
  /** What happened. */
  readonly type: CacheEventType;
  /** The entry's key as the caller knows it (no namespace), for events about one entry. */
  readonly key?: string;
  /** The cached function (its `name`, else its key template), or the instance method (`"get"`). */
  readonly function?: string;
  /** Where a hit or stale hit was served from: `"l1"` (the in-process first level) or `"l2"` (the store). */
  readonly tier?: "l1" | "l2";
  /**
   * Milliseconds: serving a hit, running the loader (`load`), one store call (`backend`); for a `miss`, the
   * lookup that found nothing.
   */
  readonly durationMs?: number;
  /** The store call (`backend`, `error` from the store): `"read"`, `"claim"`, `"write"`, `"invalidate"`, … */
  readonly operation?: string;
  /** What failed: a loader's error (`load`, then `error`), a store's (`backend`, `error`). */
  readonly error?: unknown;
  /** `invalidate`: the tags invalidated. */
  readonly tags?: readonly string[];
  /** `invalidate`: the keys of the entries invalidated; `load` of a batch: the keys it loaded. */
  readonly keys?: readonly string[];
}

/** A listener; what it returns is ignored (a rejected promise included). */
export type CacheEventListener = (event: CacheEvent) => void | Promise<void>;

const TYPES: ReadonlySet<string> = new Set<CacheEventType>([
  "hit",
  "miss",
  "stale",
  "load",
  "error",
  "invalidate",
  "backend",
]);

/** The listeners of one cache (the default cache keeps its hub across `initCache` calls). */
export class CacheEvents {
  readonly #listeners = new Map<CacheEventType, Set<CacheEventListener>>();
  /** True while any listener is registered: the only cost a cache without listeners pays. */
  active = false;

  /**
   * Adds `listener` for events of `type`; returns a function that removes it.
   *
   * @throws {TypeError} an unknown type, or a listener that is not a function.
   */
  on(type: CacheEventType, listener: CacheEventListener): () => void {
    if (!TYPES.has(type)) {
      throw new TypeError(
        `Cannot listen: the event type must be one of ${[...TYPES].join(", ")}, current value is ${
          JSON.stringify(type)
        }`,
      );
    }
    if (typeof listener !== "function") {
      throw new TypeError(
        `Cannot listen to "${type}": the listener must be a function, current value is ${typeof listener}`,
      );
    }
    const set = this.#listeners.get(type) ?? new Set();
    // The same function twice is two registrations, each removed by its own function.
    const registered: CacheEventListener = (event) => listener(event);
    set.add(registered);
    this.#listeners.set(type, set);
    this.active = true;
    return () => {
      set.delete(registered);
      if (set.size === 0) this.#listeners.delete(type);
      this.active = this.#listeners.size > 0;
    };
  }

  /** Calls the listeners of `event.type`; what they throw or reject with goes to `failed`. */
  emit(event: CacheEvent, failed: (error: unknown) => void): void {
    const set = this.#listeners.get(event.type);
    if (!set) return;
    for (const listener of set) {
      try {
        const returned = listener(event) as unknown;
        if (returned instanceof Promise) returned.catch(failed);
      } catch (error) {
        failed(error);
      }
    }
  }
}
