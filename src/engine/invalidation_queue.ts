/**
 * Invalidations that could not reach the store yet. An invalidation is a delete of keys (tag versions, entries),
 * so repeats of a key coalesce, and delivering one twice or late is harmless. The queue belongs to one cache
 * and is shared by its child namespaces (one store), holds at most `maxKeys` keys, and past that escalates to one coarser delete that
 * is still correct: the namespace's generation key, which every entry of the namespace depends on. Retries go
 * out in chunks, so a large backlog never travels as one request, and drain within a retry interval of the
 * store answering again.
 *
 * @module
 */

import { unref } from "../base/timers.ts";
import type { Budget } from "./deadline.ts";
import { LandingLog } from "./landing_log.ts";

/**
 * How the queue reaches the store: a delete of keys, bounded by the cache's deadline. `background`: a timed
 * retry that no caller waits for, which must not keep the process alive. `budget`: what is left of the
 * deadline of the call that made the invalidation (its first delivery only).
 */
export type Deliver = (keys: readonly string[], background: boolean, budget?: Budget) => Promise<void>;

/** Settings of a queue. */
export interface InvalidationQueueOptions {
  /** Most keys held before the queue escalates to the namespace's generation key. */
  readonly maxKeys: number;
  /** Deleting this key invalidates every entry of the namespace; `undefined`: the store needs no queue. */
  readonly generationKey: string | undefined;
  /** Longest wait between two retries. */
  readonly retryMaxMs: number;
  /**
   * A drain that delivered nothing for this long is taken as lost, and the next call starts another (each
   * delivery is bounded by the deadline; on Workers, one whose request ended may never settle).
   */
  readonly stalledMs: number;
  /** Called after each change with the number of undelivered deletes. */
  readonly onSize: (size: number) => void;
  /** Called once when the backlog escalated to the generation key. */
  readonly onEscalate: () => void;
}

/** What a queue could not deliver. */
export interface Undelivered {
  /** Store keys whose delete has not landed. */
  readonly keys: readonly string[];
  /** `true` when the namespace-wide invalidation (the escalation) has not landed. */
  readonly namespace: boolean;
}

/** Keys per delete request when draining a backlog. */
const CHUNK = 500;
const RETRY_MIN_MS = 25;

/** A bounded, coalescing queue of deletes with background retry. */
export class InvalidationQueue {
  readonly #deliver: Deliver;
  readonly #options: InvalidationQueueOptions;
  /** Key → sequence number of its latest invalidation, so a delivery only clears what it carried. */
  readonly #keys = new Map<string, number>();
  /** Key → how many invalidations of it this process is making right now (see {@linkcode making}). */
  readonly #making = new Map<string, number>();
  /** Nothing queued and nothing being made: the one field a read's check looks at (see {@linkcode covers}). */
  #idle = true;
  #namespace = 0;
  #seq = 0;
  #timer?: ReturnType<typeof setTimeout>;
  /** When the timed retry is due (`performance.now()`), for {@linkcode retryIfOverdue}. */
  #dueAt = Infinity;
  #delayMs = RETRY_MIN_MS;
  #draining?: Promise<boolean>;
  /** When the drain in flight started or last delivered a chunk (`performance.now()`). */
  #progressAt = 0;
  /** One promise for everyone waiting on the current backlog, so waiting costs nothing per invalidation. */
  #landed?: { promise: Promise<void>; resolve: () => void };
  #stopped = false;
  /** Which keys' invalidations landed when: what a read that began before them cannot vouch for. */
  readonly #log = new LandingLog();
  /** Counts drains: one replaced by a newer (it stalled) stops at its next step. */
  #epoch = 0;

  constructor(deliver: Deliver, options: InvalidationQueueOptions) {
    this.#deliver = deliver;
    this.#options = options;
  }

  /** Undelivered deletes (the escalation counts as one). */
  get size(): number {
    return this.#keys.size + (this.#namespace ? 1 : 0);
  }

  /** Changes whenever an invalidation lands: taken before a read, given to {@linkcode landedSince} after it. */
  get landings(): number {
    return this.#log.count;
  }

  /** `true` when an invalidation of one of `keys` (or of the namespace) landed since `mark` was taken. */
  landedSince(keys: readonly string[], mark: number): boolean {
    return this.#log.since(keys, mark);
  }

  /**
   * `true` when an invalidation of one of `keys` (or of the whole namespace) has not landed: queued, or still
   * being made.
   */
  covers(keys: readonly string[]): boolean {
    if (this.#idle) return false;
    if (this.#namespace) return true;
    for (const key of keys) if (this.#keys.has(key) || this.#making.has(key)) return true;
    return false;
  }

  /**
   * Runs `work`, an invalidation of `keys` this process is making (a delete, a soft revision), with `keys`
   * covered until it settles: a read made meanwhile may find what it replaces still in the store.
   */
  async making<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    for (const key of keys) this.#making.set(key, (this.#making.get(key) ?? 0) + 1);
    this.#idle = false;
    try {
      return await work();
    } finally {
      this.#log.land(keys);
      for (const key of keys) {
        const left = this.#making.get(key)! - 1;
        if (left === 0) this.#making.delete(key);
        else this.#making.set(key, left);
      }
      this.#idle = this.size === 0 && this.#making.size === 0;
    }
  }

  /**
   * Delivers the deletes of `keys` now, queueing them first so that this process honours them at once.
   * Resolves `true` when they landed (or the namespace-wide delete that covers them did), `false` when they
   * stay queued for retry. The first delivery spends from `budget`, the deadline of the call that made it.
   */
  async invalidate(keys: readonly string[], budget?: Budget): Promise<boolean> {
    const carried = this.#enqueue(keys);
    if (this.#namespace) {
      // The namespace-wide delete covers them: waited for only as long as the call's deadline has left.
      if (!budget) return await this.drain();
      return await budget.within(() => this.drain(), () => new Error("no time left")).catch(() => false);
    }
    // Should this delivery never settle (its request ended on Workers), a call once it stalled retries it.
    if (this.#dueAt === Infinity) this.#dueAt = performance.now() + this.#options.stalledMs;
    try {
      await this.#deliver(keys, false, budget);
      this.#settle(carried);
      return true;
    } catch {
      this.#schedule();
      return false;
    }
  }

  /** Resolves once nothing is queued (never, while the store stays unreachable). */
  landed(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    if (!this.#landed) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => resolve = r);
      this.#landed = { promise, resolve };
    }
    return this.#landed.promise;
  }

  /**
   * Delivers everything queued, chunk by chunk; `true` when the queue is empty. One drain at a time.
   * `background`: started by the retry timer, not by a caller.
   */
  drain(background = false): Promise<boolean> {
    if (this.#draining) return this.#draining;
    this.#progressAt = performance.now();
    const draining: Promise<boolean> = this.#drainOnce(background, ++this.#epoch).finally(() => {
      if (this.#draining === draining) this.#draining = undefined;
    });
    return this.#draining = draining;
  }

  /**
   * Starts the timed retry now if it is overdue; called before each store call of the cache. On Workers a
   * timer dies with the request that set it, so without this a queued invalidation would never land: the next
   * call of any request carries the retry instead, and a drain that stalled (its delivery never settled: the
   * request that carried it ended) is replaced. `undefined` when there is nothing to retry yet.
   */
  retryIfOverdue(): Promise<boolean> | undefined {
    if (this.#idle || this.size === 0) return undefined;
    if (this.#draining) {
      if (performance.now() - this.#progressAt < this.#options.stalledMs) return undefined;
      this.#draining = undefined; // lost: if it ever goes on, it stops at its next step (see #epoch)
    } else if (performance.now() < this.#dueAt) return undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dueAt = Infinity;
    return this.drain(true);
  }

  /** What has not landed. */
  undelivered(): Undelivered {
    return { keys: [...this.#keys.keys()], namespace: this.#namespace > 0 };
  }

  /** Stops retrying (the cache is closed); what is left is reported by {@linkcode undelivered}. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dueAt = Infinity; // no call retries for it either
  }

  #enqueue(keys: readonly string[]): Map<string, number> {
    const seq = ++this.#seq;
    const carried = new Map<string, number>();
    if (this.#namespace) {
      // Covered by a namespace-wide delete made after it: the one on its way may have been made before.
      this.#namespace = seq;
      this.#changed();
      return carried;
    }
    for (const key of keys) {
      this.#keys.set(key, seq);
      carried.set(key, seq);
    }
    if (this.#keys.size > this.#options.maxKeys && this.#options.generationKey !== undefined) {
      // Too many to hold: one namespace-wide delete covers every queued one.
      this.#keys.clear();
      this.#namespace = seq;
      this.#options.onEscalate();
    }
    this.#changed();
    return carried;
  }

  /** Clears what a delivery carried, unless the key was invalidated again since. */
  #settle(carried: Map<string, number>) {
    for (const [key, seq] of carried) if (this.#keys.get(key) === seq) this.#keys.delete(key);
    this.#changed();
  }

  async #drainOnce(background: boolean, epoch: number): Promise<boolean> {
    while (this.size > 0) {
      try {
        if (this.#namespace) {
          const seq = this.#namespace;
          await this.#deliver([this.#options.generationKey!], background);
          if (epoch !== this.#epoch) return false; // replaced: what it delivered is harmless, and left to count
          this.#progressAt = performance.now();
          this.#log.land(undefined);
          if (this.#namespace === seq) this.#namespace = 0;
          this.#keys.clear();
          this.#changed();
          continue;
        }
        const chunk = new Map<string, number>();
        for (const [key, seq] of this.#keys) {
          chunk.set(key, seq);
          if (chunk.size >= CHUNK) break;
        }
        const delivered = [...chunk.keys()];
        await this.#deliver(delivered, background);
        if (epoch !== this.#epoch) return false;
        this.#progressAt = performance.now();
        this.#log.land(delivered);
        this.#settle(chunk);
      } catch {
        if (epoch === this.#epoch) this.#schedule();
        return false;
      }
    }
    this.#delayMs = RETRY_MIN_MS;
    return true;
  }

  #schedule() {
    if (this.#timer !== undefined || this.#stopped) return;
    const delay = this.#delayMs;
    this.#delayMs = Math.min(delay * 2, this.#options.retryMaxMs);
    this.#dueAt = performance.now() + delay;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#dueAt = Infinity;
      this.drain(true);
    }, delay);
    unref(this.#timer);
  }

  #changed() {
    const size = this.size;
    this.#idle = size === 0 && this.#making.size === 0;
    this.#options.onSize(size);
    if (size === 0 && this.#landed) {
      this.#landed.resolve();
      this.#landed = undefined;
    }
  }
}
