/**
 * The in-memory store: bounded (entries and bytes), lazy expiry, no timer per key, and S3-FIFO eviction (Yang
 * et al., "FIFO queues are all you need for cache eviction", SOSP 2023). New entries enter a small queue (a
 * tenth of the store); one read there promotes an entry to the main queue when it reaches the end, otherwise
 * it leaves and only its key is remembered (the ghost), so one-off keys (scans) never push out the hot set. The
 * main queue gives each entry as many second chances as it was read (up to 3). A hit is one map lookup and a
 * counter; eviction is O(1) amortized at any capacity (linked queues, a ring of ghost keys). An entry read
 * through a {@linkcode Derivation} that can re-encode it is kept once, decoded: its text is made again when it
 * is read as text.
 *
 * The keys an entry depends on (its tag versions, {@linkcode StoreWrite.dependsOn}) are held apart while an
 * entry that depends on them lives: they are not entries (`maxEntries` does not count them; `maxBytes` does),
 * so they never push out the entries that need them, and they go when the last of those goes. Until an entry
 * depends on one (a version a load has just created), it is held as an entry is.
 *
 * @module
 */

import type {
  CacheStore,
  Derivation,
  StoreCapabilities,
  StoreRefresh,
  StoreSlot,
  StoreWrite,
} from "./store.ts";
import { type Clock, systemClock } from "../base/clock.ts";
import { utf8Length } from "../keys/template.ts";
import { checkOptions, optionNames } from "../api/option_names.ts";
import { counterTokens } from "../entry/token.ts";
import { flat, Ghosts, Queue, type Scope, type Slot, smallInteger, UNSCOPED } from "./memory_slots.ts";

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
  checkOptions(options, MEMORY_STORE_OPTION_NAMES, "Cannot create memory store");
  const maxEntries = positive("maxEntries", options.maxEntries ?? 10_000);
  const maxBytes = positive("maxBytes", options.maxBytes ?? 64 << 20);
  const maxValueBytes = positive("maxValueBytes", options.maxValueBytes ?? 1 << 20);
  const clock = options.clock ?? systemClock;
  // Expiry is kept in ms since a point a little before the store was made, not since 1970: small integers that
  // V8 keeps in the slot itself (a time since 1970 is a boxed number, one more object per entry to allocate,
  // keep and visit on every hit). Once past the small-integer range (after days) V8 boxes them, as before.
  const epoch = clock.now() - EPOCH_LEAD_MS;
  /** A clock reading in the store's own time. */
  const since = (now: number) => now - epoch;
  const slots = new Map<string, Slot>();
  let bytes = 0;
  const small = new Queue(), main = new Queue();
  /** Keys live entries depend on (never evicted; see the module doc), and how many entries depend on each. */
  const held = new Queue();
  const dependents = new Map<string, number>();
  const smallTarget = Math.max(1, Math.floor(maxEntries / 10));
  const ghosts = new Ghosts(maxEntries - smallTarget);
  /** The current scope of each namespace that live slots were written under. */
  const scopes = new Map<string, Scope>();
  const scopeOf = (name: string | undefined): Scope => {
    if (name === undefined) return UNSCOPED;
    let scope = scopes.get(name);
    if (scope === undefined) scopes.set(name, scope = { name, cleared: false, slots: 0 });
    scope.slots++;
    return scope;
  };
  /** A slot is gone (dropped or overwritten): its scope is forgotten with its last slot. */
  const leave = (scope: Scope) => {
    if (scope !== UNSCOPED && --scope.slots === 0 && scopes.get(scope.name) === scope) {
      scopes.delete(scope.name);
    }
  };
  /** Expired, or its namespace was cleared since it was written. */
  const gone = (slot: Slot, now: number) => slot.expiresAt <= since(now) || slot.scope.cleared;

  /** Drops a slot (`evicted`: to make room); a handle on it held elsewhere reads it as expired from now on. */
  const drop = (slot: Slot, evicted: boolean) => {
    slots.delete(slot.key);
    bytes -= slot.bytes;
    slot.expiresAt = 0;
    leave(slot.scope);
    if (slot.deps) release(slot.deps, evicted);
  };
  /** An entry depending on `deps` is written: they are held apart from the entries. */
  const hold = (deps: readonly string[]) => {
    for (const dep of deps) {
      const count = dependents.get(dep) ?? 0;
      dependents.set(dep, count + 1);
      const slot = count === 0 ? slots.get(dep) : undefined;
      if (slot !== undefined && slot.queue !== held) {
        slot.queue.unlink(slot);
        held.push(slot);
      }
    }
  };
  /**
   * An entry depending on `deps` is gone. A key no entry depends on any more goes too when the entry was
   * evicted (no load is under way for it); otherwise (deleted, expired, overwritten) it is held as a new entry
   * is, since the load that follows has read it as current: were it gone, that load would store an entry that
   * reads as invalid (a miss, never a stale hit, but a load for nothing).
   */
  const release = (deps: readonly string[], evicted: boolean) => {
    for (const dep of deps) {
      const count = dependents.get(dep)! - 1;
      if (count > 0) {
        dependents.set(dep, count);
        continue;
      }
      dependents.delete(dep);
      const slot = slots.get(dep);
      // Not one being overwritten (out of its queue already, expiry 0): its write decides where it goes.
      if (slot === undefined || slot.queue !== held || slot.expiresAt === 0) continue;
      if (evicted) remove(slot);
      else {
        held.unlink(slot);
        slot.freq = 0;
        small.push(slot);
      }
    }
  };
  const remove = (slot: Slot) => {
    slot.queue.unlink(slot);
    drop(slot, false);
  };
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
  /** Drops expired entries at the old end of a queue, a few per write: no timers. */
  const sweep = (queue: Queue, now: number) => {
    for (let seen = 0, slot = queue.oldest; slot && seen < SWEEP_PER_WRITE; seen++) {
      const next = slot.newer;
      if (gone(slot, now)) remove(slot);
      slot = next;
    }
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
      leave(old.scope);
    }
    sweep(small, now);
    sweep(main, now);
    evict(size); // room first: the entry being written must not be its own eviction's victim
    // A key entries depend on stays held; an overwrite keeps the entry's standing; a key evicted lately (a
    // ghost) was wanted again: main queue.
    const queue = dependents.has(w.key)
      ? held
      : old && old.queue !== held
      ? old.queue
      : ghosts.take(w.key)
      ? main
      : small;
    const deps = w.dependsOn !== undefined && w.dependsOn.length > 0 ? w.dependsOn : undefined;
    const slot: Slot = {
      key: w.key,
      value: flat(w.value),
      expiresAt: smallInteger(since(now) + w.ttlMs),
      bytes: size,
      freq: old?.freq ?? 0,
      queue,
      // Declared up front so every slot has one shape, with no property array added on its first hit.
      newer: undefined,
      older: undefined,
      derived: undefined,
      derive: undefined,
      deps,
      scope: scopeOf(w.scope),
    };
    queue.push(slot);
    slots.set(w.key, slot);
    bytes += size;
    if (deps) hold(deps);
    if (old?.deps) release(old.deps, false);
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
  /**
   * S3-FIFO: evict from the small queue while it holds its share, else from the main queue. The entries are
   * what the two queues hold: not the keys held for them, nor a slot about to be overwritten (already out).
   */
  const evict = (incoming: number) => {
    while (
      small.size + main.size > 0 && (small.size + main.size + 1 > maxEntries || bytes + incoming > maxBytes)
    ) {
      if (small.size >= smallTarget || main.size === 0) {
        const slot = small.oldest!;
        small.unlink(slot);
        if (slot.freq > 0 && !slot.scope.cleared) {
          slot.freq = 0;
          main.push(slot); // read while it was new: it stays
        } else {
          drop(slot, true);
          ghosts.add(slot.key);
        }
      } else {
        const slot = main.oldest!;
        main.unlink(slot);
        if (slot.freq > 0 && !slot.scope.cleared) {
          slot.freq--;
          main.push(slot); // one more round for each read
        } else drop(slot, true);
      }
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
    clearScope(scope) {
      // Namespaces nest by prefix: a parent's clear reaches its children's scopes. The cost is the number of
      // namespaces with live entries, not of entries: those are dropped when next looked at, swept or evicted.
      for (const [name, held] of scopes) {
        if (!name.startsWith(scope)) continue;
        held.cleared = true;
        scopes.delete(name);
      }
      return Promise.resolve();
    },
    scan(prefix) {
      const now = clock.now();
      const found: string[] = [];
      for (const [key, slot] of slots) if (key.startsWith(prefix) && !gone(slot, now)) found.push(key);
      return Promise.resolve(found);
    },
    close() {
      for (const slot of slots.values()) slot.expiresAt = 0;
      slots.clear();
      small.clear();
      main.clear();
      held.clear();
      dependents.clear();
      ghosts.clear();
      scopes.clear();
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
