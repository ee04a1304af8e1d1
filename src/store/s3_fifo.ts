/**
 * S3-FIFO eviction (Yang et al., "FIFO queues are all you need for cache eviction", SOSP 2023) over the memory
 * store's slots. New entries enter a small queue (a tenth of the entries); one read there promotes an entry to
 * the main queue when it reaches the end, otherwise it leaves and only its key is remembered (a ghost), so
 * one-off keys (scans) never push out the hot set. The main queue gives each entry as many second chances as it
 * was read (up to 3). O(1) amortized at any capacity: linked queues and a ring of ghost keys.
 *
 * @module
 */

import { Ghosts, Queue, type Slot } from "./memory_slots.ts";

/** Whether a slot is dead at `now` (expired, or its namespace cleared). */
type Gone = (slot: Slot, now: number) => boolean;

/** The two queues and the ghosts of one store's entries. */
export class S3Fifo {
  readonly small: Queue = new Queue();
  readonly main: Queue = new Queue();
  readonly #ghosts: Ghosts;
  readonly #smallTarget: number;

  constructor(maxEntries: number) {
    this.#smallTarget = Math.max(1, Math.floor(maxEntries / 10));
    this.#ghosts = new Ghosts(maxEntries - this.#smallTarget);
  }

  /** Entries in the two queues. */
  get size(): number {
    return this.small.size + this.main.size;
  }

  /**
   * The queue an entry written at `key` enters: `kept` (the queue of the entry it overwrites, which keeps its
   * standing), else the main queue for a key evicted lately (a ghost: wanted again), else the small queue.
   */
  queueFor(key: string, kept: Queue | undefined): Queue {
    return kept ?? (this.#ghosts.take(key) ? this.main : this.small);
  }

  /**
   * The next entry to evict, unlinked from its queue: from the small queue while it holds its share, else from
   * the main queue. An entry read while in the small queue (and not cleared) moves to the main queue instead; one
   * in the main queue is passed over once per read since it was last looked at.
   */
  victim(): Slot {
    for (;;) {
      if (this.small.size >= this.#smallTarget || this.main.size === 0) {
        const slot = this.small.oldest!;
        this.small.unlink(slot);
        if (slot.freq > 0 && !slot.scope.cleared) {
          slot.freq = 0;
          this.main.push(slot); // read while it was new: it stays
          continue;
        }
        this.#ghosts.add(slot.key);
        return slot;
      }
      const slot = this.main.oldest!;
      this.main.unlink(slot);
      if (slot.freq > 0 && !slot.scope.cleared) {
        slot.freq--;
        this.main.push(slot); // one more round for each read
        continue;
      }
      return slot;
    }
  }

  /** Removes the dead entries (`gone`) among the `count` oldest of each queue: expiry reclaimed without timers. */
  sweep(count: number, now: number, gone: Gone, remove: (slot: Slot) => void): void {
    sweepQueue(this.small, count, now, gone, remove);
    sweepQueue(this.main, count, now, gone, remove);
  }

  clear(): void {
    this.small.clear();
    this.main.clear();
    this.#ghosts.clear();
  }
}

function sweepQueue(queue: Queue, count: number, now: number, gone: Gone, remove: (slot: Slot) => void) {
  for (let seen = 0, slot = queue.oldest; slot && seen < count; seen++) {
    const next = slot.newer;
    if (gone(slot, now)) remove(slot);
    slot = next;
  }
}
