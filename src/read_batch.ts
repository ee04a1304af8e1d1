/**
 * Lookups issued in the same tick share one store read: callers of one cold key (a burst) send one read, not
 * one each, and concurrent hits of different keys travel as one batch. The read is issued after every caller
 * in it started, so what it returns is at least as new as anything acknowledged before any of them began:
 * sharing it cannot serve a value an invalidation had already replaced (unlike joining a read in flight).
 *
 * @module
 */

import type { CacheContext } from "./context.ts";
import { unref } from "./timers.ts";

interface Group {
  readonly keys: readonly string[];
  readonly waiting: Pending[];
}

interface Pending {
  readonly resolve: (raws: (string | null)[]) => void;
  readonly reject: (error: unknown) => void;
}

/** How a batch reads its keys from the store. */
export type BatchRead = (keys: readonly string[], signal?: AbortSignal) => Promise<(string | null)[]>;

/** One cache's batch of lookups for the current tick (or for `delayMs`, for reads nobody waits on). */
export class ReadBatch {
  readonly #cache: CacheContext;
  readonly #read: BatchRead;
  readonly #op: string;
  readonly #delayMs: number;
  /**
   * The key lists asked this tick, each with its waiting callers, by their first key (the entry key): callers
   * of one function and argument share their plan's list, so telling lists apart rarely compares more.
   */
  #pending = new Map<string, Group[]>();
  /** The same groups in the order they were asked: the flush takes them as they are (no flattening). */
  #groups: Group[] = [];

  /**
   * `read` defaults to the store's `getMany`; `op` names the call in errors; with `delayMs` the batch collects
   * that long (on a timer that never holds the process) instead of one tick.
   */
  constructor(cache: CacheContext, read?: BatchRead, op = "read", delayMs = 0) {
    this.#cache = cache;
    this.#read = read ?? ((keys, signal) => cache.store.getMany(keys, { signal }));
    this.#op = op;
    this.#delayMs = delayMs;
  }

  /** What the store holds at `keys` (one read per tick for all callers). */
  read(keys: readonly string[]): Promise<(string | null)[]> {
    return new Promise((resolve, reject) => {
      if (this.#groups.length === 0) {
        if (this.#delayMs === 0) queueMicrotask(() => this.#flush());
        else unref(setTimeout(() => this.#flush(), this.#delayMs));
      }
      const same = this.#pending.get(keys[0]);
      const group = same?.find((g) => sameKeys(g.keys, keys));
      if (group) {
        group.waiting.push({ resolve, reject });
        return;
      }
      const created = { keys, waiting: [{ resolve, reject }] };
      this.#groups.push(created);
      if (same) same.push(created);
      else this.#pending.set(keys[0], [created]);
    });
  }

  async #flush(): Promise<void> {
    const groups = this.#groups;
    this.#groups = [];
    this.#pending = new Map();
    const cache = this.#cache;
    // The common case, one key list (sequential hits, a burst of one key), needs no merging.
    const index = groups.length === 1 ? undefined : keyIndex(groups.map((g) => g.keys));
    const keys = index ? [...index.keys()] : groups[0].keys;
    try {
      const raws = await cache.run(this.#op, (signal) => this.#read(keys, signal));
      for (const group of groups) {
        const own = index ? group.keys.map((key) => raws[index.get(key)!]) : raws;
        group.waiting.forEach((caller, i) => caller.resolve(i === 0 ? own : [...own]));
      }
    } catch (error) {
      for (const { waiting } of groups) for (const caller of waiting) caller.reject(error);
    }
  }
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Each distinct key of `lists`, in first-seen order, with its position in the merged list. */
export function keyIndex(lists: readonly (readonly string[])[]): Map<string, number> {
  const index = new Map<string, number>();
  for (const keys of lists) for (const key of keys) if (!index.has(key)) index.set(key, index.size);
  return index;
}
