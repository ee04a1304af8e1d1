/**
 * The in-memory store: bounded (entries and bytes), lazy expiry, no timer per key, and SIEVE eviction
 * (Zhang et al., "SIEVE is Simpler than LRU", NSDI 2024): entries sit in insertion order and never move; a
 * read only marks its entry visited; a hand walks from the oldest end, clearing marks, and evicts the first
 * unvisited entry, then stays where it stopped. New entries that are never read again go first (scans do not
 * flush the hot set), a hit is one map lookup and a flag, and eviction is O(1) amortized at any capacity.
 *
 * @module
 */

import type { CacheStore, StoreCapabilities, StoreWrite } from "./store.ts";
import { type Clock, systemClock } from "./clock.ts";
import { utf8Length } from "./keys.ts";

/** Options of {@linkcode memoryStore}. */
export interface MemoryStoreOptions {
  /** Most entries kept; SIEVE chooses which go (see the module doc). @default {10000} */
  maxEntries?: number;
  /**
   * Most bytes kept: keys and values at UTF-16 length × 2 (a fast upper bound), values counted twice, for the
   * string and the decoded entry a hit reuses. @default {67108864} (64 MiB)
   */
  maxBytes?: number;
  /** Largest single value accepted, in bytes. @default {1048576} (1 MiB) */
  maxValueBytes?: number;
  /** Time source for expiry, for tests. @default {systemClock} */
  clock?: Clock;
}

interface Slot {
  readonly key: string;
  value: string;
  expiresAt: number;
  bytes: number;
  visited: boolean;
  /** Toward the newer end, and toward the older end, of the insertion-ordered list. */
  newer?: Slot;
  older?: Slot;
  /** What `peekDerived` made of `value`, and with which function. */
  derived?: unknown;
  derive?: (raw: string) => unknown;
}

/** Entries examined for expiry on each write, so dead entries are reclaimed without timers. */
const SWEEP_PER_WRITE = 2;

/**
 * Creates an in-memory store. It is the default when `initCache()` gets no `url` or `store`.
 *
 * @example Bounding memory
 * ```ts
 * import { initCache } from "@svc-infra/cache";
 * import { memoryStore } from "@svc-infra/cache/adapters/memory";
 * await initCache({ store: memoryStore({ maxEntries: 1000, maxBytes: 8 << 20 }) });
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): CacheStore & { readonly size: number } {
  const maxEntries = positive("maxEntries", options.maxEntries ?? 10_000);
  const maxBytes = positive("maxBytes", options.maxBytes ?? 64 << 20);
  const maxValueBytes = positive("maxValueBytes", options.maxValueBytes ?? 1 << 20);
  const clock = options.clock ?? systemClock;
  const slots = new Map<string, Slot>();
  let bytes = 0;
  // The insertion-ordered list SIEVE walks: `newest` is where entries enter, `hand` where eviction resumes.
  let newest: Slot | undefined, oldest: Slot | undefined, hand: Slot | undefined;

  const unlink = (slot: Slot) => {
    if (hand === slot) hand = slot.newer;
    if (slot.newer) slot.newer.older = slot.older;
    else newest = slot.older;
    if (slot.older) slot.older.newer = slot.newer;
    else oldest = slot.newer;
    slot.newer = slot.older = undefined;
  };
  const remove = (key: string, slot: Slot) => {
    slots.delete(key);
    unlink(slot);
    bytes -= slot.bytes;
  };
  const read = (key: string, now: number): string | null => {
    const slot = slots.get(key);
    if (slot === undefined) return null;
    if (slot.expiresAt <= now) {
      remove(key, slot);
      return null;
    }
    slot.visited = true;
    return slot.value;
  };
  /** Drops expired entries at the oldest end, a few per write: dead entries are reclaimed without timers. */
  const sweep = (now: number) => {
    for (let seen = 0, slot = oldest; slot && seen < SWEEP_PER_WRITE; seen++) {
      const next = slot.newer;
      if (slot.expiresAt <= now) remove(slot.key, slot);
      slot = next;
    }
  };
  const write = (w: StoreWrite, now: number): boolean => {
    if (w.ifAbsent && read(w.key, now) !== null) return false;
    if (w.ifStartsWith !== undefined && read(w.key, now)?.startsWith(w.ifStartsWith) !== true) return false;
    // UTF-16 length × 2 for the key and the value, and the value again for the decoded form kept with it.
    const size = (w.key.length + w.value.length * 2) * 2;
    const old = slots.get(w.key);
    if (old) remove(w.key, old);
    if (utf8Length(w.value) > maxValueBytes || size > maxBytes) return false;
    sweep(now);
    evict(size); // room first: the entry being written must not be its own eviction's victim
    const slot: Slot = { key: w.key, value: w.value, expiresAt: now + w.ttlMs, bytes: size, visited: false };
    slot.older = newest;
    if (newest) newest.newer = slot;
    else oldest = slot;
    newest = slot;
    slots.set(w.key, slot);
    bytes += size;
    return true;
  };
  /** SIEVE: from the hand toward the newer end (wrapping to the oldest), clear visited marks, evict the first unmarked. */
  const evict = (incoming: number) => {
    while (slots.size > 0 && (slots.size + 1 > maxEntries || bytes + incoming > maxBytes)) {
      let slot = hand ?? oldest!;
      while (slot.visited) {
        slot.visited = false;
        slot = slot.newer ?? oldest!;
      }
      hand = slot.newer;
      remove(slot.key, slot);
    }
  };
  const capabilities: StoreCapabilities = {
    maxKeyBytes: 1024,
    maxValueBytes,
    inProcess: true,
    consistency: "strong",
    maxEntries,
  };

  return {
    name: "memory",
    capabilities,
    get size() {
      return slots.size;
    },
    getMany(keys) {
      const now = clock.now();
      return Promise.resolve(keys.map((key) => read(key, now)));
    },
    peek(keys, now = clock.now()) {
      return keys.map((key) => read(key, now));
    },
    peekDerived<T>(key: string, now = clock.now(), derive: (raw: string) => T): T | null {
      if (read(key, now) === null) return null;
      const slot = slots.get(key)!;
      if (slot.derive !== derive) {
        slot.derived = derive(slot.value);
        slot.derive = derive;
      }
      return slot.derived as T;
    },
    clock,
    setMany(writes) {
      const now = clock.now();
      return Promise.resolve(writes.map((w) => write(w, now)));
    },
    deleteMany(keys) {
      for (const key of keys) {
        const slot = slots.get(key);
        if (slot) remove(key, slot);
      }
      return Promise.resolve();
    },
    deleteIfStartsWith(key, prefix) {
      const slot = slots.get(key);
      if (read(key, clock.now()) === null || !slot!.value.startsWith(prefix)) return Promise.resolve(false);
      remove(key, slot!);
      return Promise.resolve(true);
    },
    scan(prefix) {
      const now = clock.now();
      const found: string[] = [];
      for (const [key, slot] of slots) if (key.startsWith(prefix) && slot.expiresAt > now) found.push(key);
      return Promise.resolve(found);
    },
    close() {
      slots.clear();
      newest = oldest = hand = undefined;
      bytes = 0;
      return Promise.resolve();
    },
  };
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `Cannot create memory store: ${name} must be a positive number, current value is ${value}`,
    );
  }
  return value;
}
