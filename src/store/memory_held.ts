/**
 * The keys the memory store's entries depend on (their tag versions: a write's `dependsOn`), held
 * apart while an entry that depends on them lives: they are not entries (`maxEntries` does not count them;
 * `maxBytes` does), so they never push out the entries that need them, and they go when the last of those goes.
 * Until an entry depends on one (a version a load has just created), it is held as an entry is.
 *
 * @module
 */

import { Queue, type Slot } from "./memory_slots.ts";

/** What a store's held keys need of it. */
export interface HeldStore {
  readonly slots: ReadonlyMap<string, Slot>;
  /** Where a key no entry depends on any more goes back to: the queue new entries enter. */
  readonly entries: Queue;
  /** Drops a slot out of its queue and the store. */
  remove(slot: Slot): void;
}

/** The held keys of one store, and how many live entries depend on each. */
export class HeldKeys {
  /** Their queue: never evicted from. */
  readonly queue: Queue = new Queue();
  readonly #dependents = new Map<string, number>();
  readonly #store: HeldStore;

  constructor(store: HeldStore) {
    this.#store = store;
  }

  /** `true` while a live entry depends on `key`. */
  has(key: string): boolean {
    return this.#dependents.has(key);
  }

  /** An entry depending on `deps` is written: they are held apart from the entries. */
  hold(deps: readonly string[]): void {
    for (const dep of deps) {
      const count = this.#dependents.get(dep) ?? 0;
      this.#dependents.set(dep, count + 1);
      const slot = count === 0 ? this.#store.slots.get(dep) : undefined;
      if (slot !== undefined && slot.queue !== this.queue) {
        slot.queue.unlink(slot);
        this.queue.push(slot);
      }
    }
  }

  /**
   * An entry depending on `deps` is gone. A key no entry depends on any more goes too when the entry was
   * evicted (no load is under way for it); otherwise (deleted, expired, overwritten) it is held as a new entry
   * is, since the load that follows has read it as current: were it gone, that load would store an entry that
   * reads as invalid (a miss, never a stale hit, but a load for nothing).
   */
  release(deps: readonly string[], evicted: boolean): void {
    for (const dep of deps) {
      const count = this.#dependents.get(dep)! - 1;
      if (count > 0) {
        this.#dependents.set(dep, count);
        continue;
      }
      this.#dependents.delete(dep);
      const slot = this.#store.slots.get(dep);
      // Not one being overwritten (out of its queue already, expiry 0): its write decides where it goes.
      if (slot === undefined || slot.queue !== this.queue || slot.expiresAt === 0) continue;
      if (evicted) this.#store.remove(slot);
      else {
        this.queue.unlink(slot);
        slot.freq = 0;
        this.#store.entries.push(slot);
      }
    }
  }

  clear(): void {
    this.queue.clear();
    this.#dependents.clear();
  }
}
