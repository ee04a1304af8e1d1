/**
 * Lookups issued in the same tick share one store read: callers of one cold key (a burst) send one read, not
 * one each, and concurrent hits of different keys travel as one batch. The read is issued after every caller
 * in it started, so what it returns is at least as new as anything acknowledged before any of them began:
 * sharing it cannot serve a value an invalidation had already replaced (unlike joining a read in flight).
 *
 * @module
 */

import type { CacheStore } from "../store/store.ts";
import { unref } from "../base/timers.ts";
import type { Budget } from "./deadline.ts";
import { StoreError } from "../base/errors.ts";

interface Group {
  readonly keys: readonly string[];
  readonly waiting: Pending[];
  /** An earlier group of this tick with the same entry key (`keys[0]`) but other dependencies. */
  readonly sameEntry: Group | undefined;
  /** Where each of `keys` is in the tick's merged read (set when several groups share it). */
  at: number[] | undefined;
}

interface Pending {
  readonly resolve: (raws: (string | null)[]) => void;
  readonly reject: (error: unknown) => void;
}

/** How a batch reads its keys from the store. */
export type BatchRead = (keys: readonly string[], signal?: AbortSignal) => Promise<(string | null)[]>;

/** What a batch needs from its cache: the store, and its guarded call (deadline, breaker). */
export interface BatchCache {
  readonly store: Pick<CacheStore, "getMany" | "name">;
  run<T>(op: string, call: (signal?: AbortSignal) => Promise<T>): Promise<T>;
}

/** One cache's batch of lookups for the current tick (or for `delayMs`, for reads nobody waits on). */
export class ReadBatch {
  readonly #cache: BatchCache;
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
  constructor(cache: BatchCache, read?: BatchRead, op = "read", delayMs = 0) {
    this.#cache = cache;
    this.#read = read ?? ((keys, signal) => cache.store.getMany(keys, { signal }));
    this.#op = op;
    this.#delayMs = delayMs;
  }

  /** {@linkcode read}, waited for only as long as `budget` has left (the read goes on for the others). */
  readWithin(keys: readonly string[], budget: Budget): Promise<(string | null)[]> {
    return budget.within(
      () => this.read(keys),
      () =>
        new StoreError(
          this.#cache.store.name,
          `${this.#op} got no answer within what was left of the call's deadline`,
        ),
    );
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
      const created: Group = { keys, waiting: [{ resolve, reject }], sameEntry: same?.[0], at: undefined };
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
    const merged = groups.length === 1 ? undefined : merge(groups);
    const keys = merged ?? groups[0].keys;
    try {
      const raws = await cache.run(this.#op, (signal) => this.#read(keys, signal));
      for (const group of groups) {
        const own = merged ? group.at!.map((i) => raws[i]) : raws;
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

/**
 * Every key the groups read, each once, in first-seen order; each group learns where its keys are. Entry keys
 * are told apart when the groups are made (the pending map is keyed by them, and they have a key space of
 * their own), so only the dependencies (the generation, shared tags) are looked up here.
 */
function merge(groups: readonly Group[]): string[] {
  const keys: string[] = [];
  const seen = new Map<string, number>();
  for (const group of groups) {
    const at = [group.sameEntry ? group.sameEntry.at![0] : keys.push(group.keys[0]) - 1];
    for (let k = 1; k < group.keys.length; k++) {
      const key = group.keys[k];
      let i = seen.get(key);
      if (i === undefined) seen.set(key, i = keys.push(key) - 1);
      at.push(i);
    }
    group.at = at;
  }
  return keys;
}
