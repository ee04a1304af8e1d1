/**
 * The in-memory store: bounded (entries and bytes), lazy expiry, no timer per key, S3-FIFO eviction
 * (`s3_fifo.ts`). A hit is one map lookup and a counter. An entry read through a {@linkcode Derivation} that can
 * re-encode it is kept once, decoded: its text is made again when it is read as text. The keys entries depend on
 * are held apart from them (`memory_held.ts`), and namespaces are cleared in O(1) (`memory_scopes.ts`).
 *
 * @module
 */

import type { CacheStore, Derivation, StoreRefresh, StoreSlot, StoreWrite } from "./store.ts";
import { type Clock, systemClock } from "../base/clock.ts";
import { utf8Length } from "../keys/template.ts";
import { checkOptions, optionNames } from "../api/option_names.ts";
import { counterTokens } from "../entry/token.ts";
import { checkCount } from "../base/positive.ts";
import { newSlot, type Slot } from "./memory_slots.ts";
import { S3Fifo } from "./s3_fifo.ts";
import { HeldKeys } from "./memory_held.ts";
import { Scopes } from "./memory_scopes.ts";

/** Options of {@linkcode memoryStore}. */
export interface MemoryStoreOptions {
  /** Most entries kept; S3-FIFO chooses which go (see the module doc). @default {10000} */
  maxEntries?: number;
  /**
   * Most bytes kept: keys and values at UTF-16 length × 2 (a fast upper bound), values counted twice, for the
   * string and the decoded entry a hit reuses (once when the decoded entry alone is kept: see
   * {@linkcode Derivation}). @default {67108864} (64 MiB)
   */
  maxBytes?: number;
  /** Largest single value accepted, in bytes. @default {1048576} (1 MiB) */
  maxValueBytes?: number;
  /** Time source for expiry, for tests. @default {systemClock} */
  clock?: Clock;
}

/** Every option name of {@linkcode MemoryStoreOptions}. */
const MEMORY_STORE_OPTION_NAMES = optionNames<MemoryStoreOptions>({
  maxEntries: 1,
  maxBytes: 1,
  maxValueBytes: 1,
  clock: 1,
});

/** The memory store: a {@linkcode CacheStore} that also tells its size and what it derived from a value. */
export interface MemoryStore extends CacheStore {
  /** Keys held: entries, and the keys entries depend on. */
  readonly size: number;
  /**
   * What `peekDerived` last made of the value at `key`, if it is still held; not a read (eviction and expiry
   * are unaffected), so a bookkeeper can ask without making the entry look used.
   */
  derivedAt(key: string): unknown;
}

/**
 * How far before its creation a store's own time starts: a clock set back by less than this still reads
 * every dropped slot (expiry 0) as expired. About three days.
 */
const EPOCH_LEAD_MS = 2 ** 28;

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
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const what = "Cannot create memory store";
  checkOptions(options, MEMORY_STORE_OPTION_NAMES, what);
  const maxEntries = checkCount(what, "maxEntries", options.maxEntries ?? 10_000);
  const maxBytes = checkCount(what, "maxBytes", options.maxBytes ?? 64 << 20);
  const maxValueBytes = checkCount(what, "maxValueBytes", options.maxValueBytes ?? 1 << 20);
  const clock = options.clock ?? systemClock;
  // Expiry is kept in ms since a point a little before the store was made, not since 1970: small integers that
  // V8 keeps in the slot itself (a time since 1970 is a boxed number, one more object per entry to allocate,
  // keep and visit on every hit). Once past the small-integer range (after days) V8 boxes them, as before.
  const epoch = clock.now() - EPOCH_LEAD_MS;
  /** A clock reading in the store's own time. */
  const since = (now: number) => now - epoch;
  const slots = new Map<string, Slot>();
  let bytes = 0;
  const fifo = new S3Fifo(maxEntries);
  const scopes = new Scopes();
  /** Changes of the keys live entries depend on (see `CacheStore.dependencyEpoch`). */
  let changes = 0;
  /** Expired, or its namespace was cleared since it was written. */
  const gone = (slot: Slot, now: number) => slot.expiresAt <= since(now) || slot.scope.cleared;

  /** Drops a slot (`evicted`: to make room); a handle on it held elsewhere reads it as expired from now on. */
  const drop = (slot: Slot, evicted: boolean) => {
    slots.delete(slot.key);
    if (held.has(slot.key)) changes++;
    bytes -= slot.bytes;
    slot.expiresAt = 0;
    scopes.leave(slot.scope);
    if (slot.deps) held.release(slot.deps, evicted);
  };
  const remove = (slot: Slot) => {
    slot.queue.unlink(slot);
    drop(slot, false);
  };
  /** Keys live entries depend on: never evicted (see `memory_held.ts`). */
  const held = new HeldKeys({ slots, entries: fifo.small, remove });
  /** The live slot at `key`, counted as read; an expired one is dropped. */
  const live = (key: string, now: number): Slot | undefined => {
    const slot = slots.get(key);
    if (slot === undefined) return undefined;
    if (gone(slot, now)) {
      remove(slot);
      return undefined;
    }
    if (slot.freq < 3) slot.freq++;
    return slot;
  };
  const text = (slot: Slot): string => slot.value ?? slot.derive!.encode!(slot.derived);
  const read = (key: string, now: number): string | null => {
    const slot = live(key, now);
    return slot === undefined ? null : text(slot);
  };
  const derived = <T>(slot: Slot, derive: Derivation<T>): T => {
    if (slot.derive !== derive) {
      const raw = text(slot);
      const value = derive(raw);
      slot.derived = value;
      slot.derive = derive as Derivation<unknown>;
      // One copy instead of two: when the derived form gives the text back exactly, the text can go.
      const alone = derive.encode !== undefined && derive.encode(value) === raw;
      if (alone !== (slot.value === undefined)) resize(slot, (alone ? -2 : 2) * raw.length);
      slot.value = alone ? undefined : raw;
    }
    return slot.derived as T;
  };
  /** A live slot's size changes by `delta` (its text dropped or kept again). */
  const resize = (slot: Slot, delta: number) => {
    slot.bytes += delta;
    bytes += delta;
  };
  const write = (w: StoreWrite, now: number): boolean => {
    // One lookup; a write's own condition is not a read (were it one, every entry a load stores over its
    // loading marker would start as read once, and S3-FIFO would keep one-off keys as it keeps hot ones).
    let old = slots.get(w.key);
    if (old !== undefined && gone(old, now)) {
      remove(old);
      old = undefined;
    }
    if (w.ifAbsent && old !== undefined) return false;
    if (w.ifStartsWith !== undefined && (old === undefined || !text(old).startsWith(w.ifStartsWith))) {
      return false;
    }
    // UTF-16 length × 2 for the key and the value, and the value again for the decoded form kept with it.
    const size = (w.key.length + w.value.length * 2) * 2;
    // A UTF-16 unit is at most 3 UTF-8 bytes: most values are within the limit without counting them.
    if ((w.value.length * 3 > maxValueBytes && utf8Length(w.value) > maxValueBytes) || size > maxBytes) {
      if (old) remove(old);
      return false;
    }
    if (old) {
      // Overwritten in place (a claimed entry replacing its marker): no map delete, and no tombstone after it.
      // What it depended on is released once the new value holds what it depends on (often the same keys).
      old.queue.unlink(old);
      bytes -= old.bytes;
      old.expiresAt = 0;
      scopes.leave(old.scope);
    }
    fifo.sweep(SWEEP_PER_WRITE, now, gone, remove);
    // Room first: the entry being written must not be its own eviction's victim.
    while (fifo.size > 0 && (fifo.size + 1 > maxEntries || bytes + size > maxBytes)) {
      drop(fifo.victim(), true);
    }
    // A key entries depend on stays held (its change counted); an overwrite keeps the entry's standing.
    const depended = held.has(w.key);
    if (depended) changes++;
    const queue = depended
      ? held.queue
      : fifo.queueFor(w.key, old && old.queue !== held.queue ? old.queue : undefined);
    const slot = newSlot(w, since(now) + w.ttlMs, size, old?.freq ?? 0, queue, scopes.enter(w.scope));
    queue.push(slot);
    slots.set(w.key, slot);
    bytes += size;
    if (slot.deps) held.hold(slot.deps);
    if (old?.deps) held.release(old.deps, false);
    return true;
  };
  /** A value's ends replaced, its middle kept: a write of the result, when the ends are as expected. */
  const refresh = (r: StoreRefresh, now: number): boolean => {
    const old = slots.get(r.key);
    if (old === undefined || gone(old, now)) return false;
    const raw = text(old), from = r.ifStartsWith.length, to = raw.length - r.ifEndsWith.length;
    if (to < from || !raw.startsWith(r.ifStartsWith) || !raw.endsWith(r.ifEndsWith)) return false;
    const { key, ttlMs, dependsOn, scope } = r;
    return write({ key, value: r.head + raw.slice(from, to) + r.tail, ttlMs, dependsOn, scope }, now);
  };
  const capabilities = {
    maxKeyBytes: 1024,
    // What it takes: also within maxBytes as an entry is counted there (a 1024-unit key, the value twice in UTF-16).
    maxValueBytes: Math.max(1, Math.min(maxValueBytes, Math.floor(maxBytes / 4) - 512)),
    inProcess: true,
    consistency: "strong" as const,
    maxEntries,
  };

  return {
    name: "memory",
    capabilities,
    // Every write to this store goes through this object, in this process: a counter is unique among them
    // (several caches sharing the store, or copies of this module, draw from the same one), and Web Crypto
    // was most of a miss's cost.
    uniqueToken: counterTokens(),
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
    derivedAt(key) {
      return slots.get(key)?.derived;
    },
    peekDerived<T>(key: string, now = clock.now(), derive: Derivation<T>): T | null {
      const slot = live(key, now);
      return slot === undefined ? null : derived(slot, derive);
    },
    slotOf(key) {
      return slots.get(key) as StoreSlot | undefined;
    },
    peekSlot<T>(handle: StoreSlot, now = clock.now(), derive: Derivation<T>): T | null {
      const slot = handle as unknown as Slot;
      // Dropped (overwritten, evicted, deleted), expired or cleared: the caller looks its key up again.
      if (slot.expiresAt <= since(now) || slot.scope.cleared) return null;
      if (slot.freq < 3) slot.freq++;
      return derived(slot, derive);
    },
    clock,
    setMany(writes) {
      const now = clock.now();
      return Promise.resolve(writes.map((w) => write(w, now)));
    },
    refreshMany(refreshes) {
      const now = clock.now();
      return Promise.resolve(refreshes.map((r) => refresh(r, now)));
    },
    deleteMany(keys) {
      for (const key of keys) {
        const slot = slots.get(key);
        if (slot) remove(slot);
      }
      return Promise.resolve();
    },
    deleteIfStartsWith(key, prefix) {
      if (read(key, clock.now())?.startsWith(prefix) !== true) return Promise.resolve(false);
      remove(slots.get(key)!);
      return Promise.resolve(true);
    },
    dependencyEpoch() {
      return changes;
    },
    expiresAt(key) {
      const slot = slots.get(key);
      return slot === undefined ? undefined : slot.expiresAt + epoch;
    },
    clearScope(scope) {
      changes++; // the keys entries depend on may be in it
      scopes.clear(scope);
      return Promise.resolve();
    },
    scan(prefix) {
      const now = clock.now();
      const found: string[] = [];
      for (const [key, slot] of slots) if (key.startsWith(prefix) && !gone(slot, now)) found.push(key);
      return Promise.resolve(found);
    },
    close() {
      changes++;
      for (const slot of slots.values()) slot.expiresAt = 0;
      slots.clear();
      fifo.clear();
      held.clear();
      scopes.reset();
      bytes = 0;
      return Promise.resolve();
    },
  };
}
