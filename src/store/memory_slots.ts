/**
 * What the memory store is made of: a slot per key (its text or decoded form, expiry, size, read count, queue
 * links, dependencies, namespace scope), the FIFO queues S3-FIFO links slots through, and the ring of ghost keys
 * an evicted new entry leaves behind.
 *
 * @module
 */

import type { Derivation, StoreWrite } from "./store.ts";

export interface Slot {
  readonly key: string;
  /** The stored text; `undefined` once `derive.encode` gives it back from `derived`, which is then kept alone. */
  value: string | undefined;
  /** When it expires, in the store's own time (see `since`); 0 once dropped. */
  expiresAt: number;
  bytes: number;
  /** Reads since it entered its queue or was last passed over, capped at 3. */
  freq: number;
  queue: Queue;
  /** Toward the newer end, and toward the older end, of its queue. */
  newer?: Slot;
  older?: Slot;
  /** What `peekDerived` made of `value`, and with which function. */
  derived?: unknown;
  derive?: Derivation<unknown>;
  /** The keys it depends on ({@linkcode StoreWrite.dependsOn}), held while it is. */
  readonly deps: readonly string[] | undefined;
  /** The namespace it was written under ({@linkcode StoreWrite.scope}): once that is cleared, it reads as gone. */
  readonly scope: Scope;
}

/**
 * The slot of a write, expiring at `expiresAt` (the store's own time), with every field declared up front: one
 * shape for all, no property array added on its first hit.
 */
export function newSlot(
  write: StoreWrite,
  expiresAt: number,
  bytes: number,
  freq: number,
  queue: Queue,
  scope: Scope,
): Slot {
  const deps = write.dependsOn;
  return {
    key: write.key,
    value: flat(write.value),
    expiresAt: smallInteger(expiresAt),
    bytes,
    freq,
    queue,
    newer: undefined,
    older: undefined,
    derived: undefined,
    derive: undefined,
    deps: deps !== undefined && deps.length > 0 ? deps : undefined,
    scope,
  };
}

/**
 * One namespace's generation in the store: `clearScope` marks it cleared (its slots then read as gone, one
 * field compared on a hit) and forgets it, so that later writes under the name start a new one.
 */
export interface Scope {
  readonly name: string;
  cleared: boolean;
  /** Live slots written under it: it is forgotten with the last. */
  slots: number;
}

/** The scope of slots written without one: never cleared (shared by every store, never counted). */
export const UNSCOPED: Scope = { name: "", cleared: false, slots: 0 };

/** A FIFO queue of slots, linked through them. */
export class Queue {
  newest?: Slot;
  oldest?: Slot;
  size = 0;

  push(slot: Slot): void {
    slot.queue = this;
    slot.older = this.newest;
    slot.newer = undefined;
    if (this.newest) this.newest.newer = slot;
    else this.oldest = slot;
    this.newest = slot;
    this.size++;
  }

  clear(): void {
    this.newest = this.oldest = undefined;
    this.size = 0;
  }

  unlink(slot: Slot): void {
    if (slot.newer) slot.newer.older = slot.older;
    else this.newest = slot.older;
    if (slot.older) slot.older.newer = slot.newer;
    else this.oldest = slot.newer;
    slot.newer = slot.older = undefined;
    this.size--;
  }
}

/**
 * Keys recently evicted from the small queue, oldest forgotten first (a ring: O(1), no map iteration). The ring
 * grows as keys are evicted, up to its capacity: a store configured large but holding little costs little.
 */
export class Ghosts {
  readonly #capacity: number;
  #ring: (string | undefined)[] = [];
  readonly #at = new Map<string, number>();
  /** Where the next key goes once the ring is full: the oldest. */
  #next = 0;

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  add(key: string): void {
    if (this.#ring.length < this.#capacity) {
      this.#at.set(key, this.#ring.length);
      this.#ring.push(key);
      return;
    }
    const old = this.#ring[this.#next];
    if (old !== undefined && this.#at.get(old) === this.#next) this.#at.delete(old);
    this.#ring[this.#next] = key;
    this.#at.set(key, this.#next);
    this.#next = (this.#next + 1) % this.#capacity;
  }

  /** `true` if `key` was a ghost; it is one no longer. */
  take(key: string): boolean {
    return this.#at.delete(key);
  }

  clear(): void {
    this.#ring = [];
    this.#next = 0;
    this.#at.clear();
  }
}

/**
 * `ms` as a small integer (at most 1 ms earlier) while it is below 2^30, the range V8 keeps unboxed on every
 * platform; past it, unchanged. Arithmetic on a clock reading yields a boxed number even when it is integral.
 */
function smallInteger(ms: number): number {
  return ms >= 0 && ms < 2 ** 30 ? ms | 0 : ms;
}

/**
 * `text` as one string in memory. Text built by concatenation (an entry's encoding is) is a rope in V8: a node
 * per piece, each kept as long as the entry until a read flattens it (about 800 B for a 120-character entry,
 * against 160 B flat); reading a character flattens it now, while its pieces are still young garbage.
 */
function flat(text: string): string {
  text.charCodeAt(0);
  return text;
}
