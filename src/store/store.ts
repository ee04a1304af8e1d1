/**
 * The key-value contract every backend implements. Adapters move strings; the core owns keys,
 * serialization, expiry logic, tags, deadlines and error policy.
 *
 * @module
 */

import type { Clock } from "../base/clock.ts";

/** What a store can and cannot do; the core adapts to it. */
export interface StoreCapabilities {
  /** Longest key in UTF-8 bytes; longer keys are hashed by the core. */
  readonly maxKeyBytes: number;
  /** Largest value in UTF-8 bytes; larger entries are not written (the caller still gets its value). */
  readonly maxValueBytes: number;
  /** `true` when calls complete in this process (no deadline or breaker needed). */
  readonly inProcess: boolean;
  /** `eventual` when a read may miss a write that just completed elsewhere. */
  readonly consistency: "strong" | "eventual";
  /** Most entries the store keeps, when it is bounded by count (in-process stores); sizes the core's memos. */
  readonly maxEntries?: number;
}

/**
 * One write. `ifAbsent` writes only when the key does not exist (tag versions, loading markers, locks);
 * `ifStartsWith` only when the stored value starts with the given text (an entry write conditional on the
 * token its load observed, so an invalidation made during the load cannot be undone by it).
 */
export interface StoreWrite {
  /** The stored key (namespaced by the core). */
  readonly key: string;
  /** The stored text. */
  readonly value: string;
  /** Physical lifetime in milliseconds; always > 0. */
  readonly ttlMs: number;
  /** Write only when the key does not exist. */
  readonly ifAbsent?: boolean;
  /** Write only when the key exists and its value starts with this (non-empty) text; atomically. */
  readonly ifStartsWith?: string;
  /**
   * The keys whose values decide whether this one is still valid (an entry's tag versions; given to in-process
   * stores). A store bounded by count may keep them as long as this value lives without counting them as
   * entries (the memory store does), so that they never push out what depends on them. One of them gone must
   * still read as gone: the core then treats this value as invalid.
   */
  readonly dependsOn?: readonly string[];
  /**
   * The namespace the key belongs to (a prefix of it; given to in-process stores): a later
   * {@linkcode CacheStore.clearScope} of it, or of a namespace it lies under, makes the key read as missing.
   */
  readonly scope?: string;
}

/**
 * A rewrite of both ends of a stored value, its middle kept as stored (an entry kept by `ctx.notModified()`:
 * new metadata around the same value), so that the value does not travel again. Applied only when the value
 * starts with `ifStartsWith` and ends with `ifEndsWith` (which `head` and `tail` replace), atomically.
 */
export interface StoreRefresh {
  /** The stored key (namespaced by the core). */
  readonly key: string;
  /** What the value must start with (non-empty; it includes the token a conditional write compares). */
  readonly ifStartsWith: string;
  /** What the value must end with, after `ifStartsWith`. */
  readonly ifEndsWith: string;
  /** Replaces `ifStartsWith`. */
  readonly head: string;
  /** Replaces `ifEndsWith`. */
  readonly tail: string;
  /** Physical lifetime in milliseconds from now; always > 0. */
  readonly ttlMs: number;
  /** As in {@linkcode StoreWrite.dependsOn}. */
  readonly dependsOn?: readonly string[];
  /** As in {@linkcode StoreWrite.scope}. */
  readonly scope?: string;
}

/** An in-process store's handle on the value held at one key (opaque; see {@linkcode CacheStore.slotOf}). */
export interface StoreSlot {
  /** A type-level brand only: a slot comes from {@linkcode CacheStore.slotOf}, never from user code. */
  readonly storeSlotBrand: never;
}

/**
 * What an in-process store keeps derived from a stored value (see {@linkcode CacheStore.peekDerived}). With
 * `encode`, which gives the stored value back from what was derived, the store may keep the derived form only:
 * it drops the value once `encode` has reproduced it exactly, and re-creates it when the value is read as text.
 *
 * @example
 * ```ts
 * import type { Derivation } from "@svc-infra/cache";
 * const parsed: Derivation<unknown> = Object.assign((raw: string) => JSON.parse(raw), {
 *   encode: (tree: unknown) => JSON.stringify(tree),
 * });
 * console.log(parsed('{"a":1}'), parsed.encode?.({ a: 1 }));
 * ```
 */
export interface Derivation<T> {
  /** Derives from the stored value. */
  (raw: string): T;
  /** The stored value, from what was derived (a pure function of it). */
  readonly encode?: (derived: T) => string;
}

/** Per-call options passed by the core. */
export interface StoreCallOptions {
  /** Aborted when the call's deadline passes. */
  readonly signal?: AbortSignal;
  /**
   * No caller waits for this call (a retry of a queued invalidation): a store holding connections must not let
   * it keep the process alive.
   */
  readonly background?: boolean;
  /**
   * The write is an invalidation, which a failover must not undo: a store with asynchronous replicas resolves
   * only once the replicas that could take over have it (Redis: `WAIT`), and rejects otherwise (the caller
   * retries). Stores without replicas, or that replicate synchronously, ignore it.
   */
  readonly durable?: boolean;
}

/**
 * A cache backend. All methods are batch methods, so that one cache operation is one round trip.
 *
 * @example Writing an adapter
 * ```ts
 * import type { CacheStore } from "@svc-infra/cache";
 * const data = new Map<string, string>();
 * const tiny: CacheStore = {
 *   name: "tiny",
 *   capabilities: { maxKeyBytes: 1024, maxValueBytes: 1 << 20, inProcess: true, consistency: "strong" },
 *   getMany: (keys) => Promise.resolve(keys.map((k) => data.get(k) ?? null)),
 *   setMany: (writes) =>
 *     Promise.resolve(writes.map((w) => {
 *       if (w.ifAbsent && data.has(w.key)) return false;
 *       if (w.ifStartsWith !== undefined && !data.get(w.key)?.startsWith(w.ifStartsWith)) return false;
 *       data.set(w.key, w.value);
 *       return true;
 *     })),
 *   deleteMany: (keys) => Promise.resolve(keys.forEach((k) => data.delete(k))),
 *   deleteIfStartsWith: (key, prefix) =>
 *     Promise.resolve(data.get(key)?.startsWith(prefix) === true && data.delete(key)),
 * };
 * ```
 */
export interface CacheStore {
  /** Short name for logs and metrics, e.g. `memory`, `redis`. */
  readonly name: string;
  /** Limits and guarantees the core adapts to. */
  readonly capabilities: StoreCapabilities;
  /** Values in the order of `keys`; `null` for a missing or expired key. */
  getMany(keys: readonly string[], options?: StoreCallOptions): Promise<(string | null)[]>;
  /**
   * In-process stores may also read synchronously; the core then serves hits without a promise round. `now` is
   * the caller's reading of `clock`, passed when the store expires by that same clock.
   */
  peek?(keys: readonly string[], now?: number): (string | null)[];
  /** The time source an in-process store expires by. */
  readonly clock?: Clock;
  /**
   * In-process stores may also keep what the cache derives from a value (its decoded entry) with the value
   * itself, so a hit does not parse it again: `derive` runs once per stored value (a write, an expiry or an
   * eviction forgets it). `null` when the key holds nothing.
   */
  peekDerived?<T>(key: string, now: number | undefined, derive: Derivation<T>): T | null;
  /**
   * The slot that holds `key`'s value now (not a read), for a caller that reads the key again and again:
   * {@linkcode CacheStore.peekSlot} then skips the key lookup. Stores with `peekDerived` may offer it.
   */
  slotOf?(key: string): StoreSlot | undefined;
  /**
   * `peekDerived` through a slot from `slotOf`: `null` once the slot no longer holds a live value (the key was
   * written again, evicted, deleted, or expired); the caller then looks the key up again.
   */
  peekSlot?<T>(slot: StoreSlot, now: number | undefined, derive: Derivation<T>): T | null;
  /**
   * In-process stores that hold the keys entries depend on ({@linkcode StoreWrite.dependsOn}) may count their
   * changes: a number that changes whenever such a key is written, deleted or dropped (an expiry counts when
   * the store drops the key; a cleared scope counts at once). A reader that found an entry's dependencies
   * current at one count may skip reading them while it stays the same. A method, not a property, so that a
   * store spread into a wrapper (`{ ...store, getMany }`) still reports the count as it changes.
   */
  dependencyEpoch?(): number;
  /**
   * When the value at `key` expires, by the store's clock; `undefined` when it holds none. With
   * `dependencyEpoch`: how long dependencies found current stay so.
   */
  expiresAt?(key: string): number | undefined;
  /**
   * The first `length` characters of each value (`null` when missing), in one round trip: what validating an
   * in-process copy needs (an entry's token, versions), without the values. Stores without it are read whole.
   */
  getHeads?(keys: readonly string[], length: number, options?: StoreCallOptions): Promise<(string | null)[]>;
  /**
   * Push (Redis pub/sub, Deno KV watch keys): tells every subscriber of `channel` which keys were invalidated.
   * Best effort: the two-level cache's bound holds without it.
   */
  publish?(channel: string, keys: readonly string[]): Promise<void>;
  /**
   * Hears what `publish` sends on `channel`, on a connection of its own that never keeps the process alive and
   * is reopened when it drops; resolves once the first attempt settled. `onConnection` hears each change.
   */
  subscribe?(
    channel: string,
    listener: (keys: string[]) => void,
    onConnection?: (connected: boolean) => void,
  ): Promise<{ close(): Promise<void> }>;
  /**
   * A token no other write to this store has carried or will carry (entry tokens, loading markers, tag
   * versions, lock owners), 16 hex digits as every token. Only for a store whose every writer calls this same
   * object (in-process: the memory store counts); a store other processes write to leaves it out, and the core
   * draws 64 random bits. A wrapper that adds writers elsewhere (persistence, another process) must not forward it.
   */
  uniqueToken?(): string;
  /** Applies the writes; returns per write whether it was stored (`false`: key existed for `ifAbsent`). */
  setMany(writes: readonly StoreWrite[], options?: StoreCallOptions): Promise<boolean[]>;
  /**
   * Optional: applies the refreshes, each as one atomic step (Redis: a script that sends only the ends);
   * resolves, per refresh, whether it was applied (`false` when the key is missing or its ends differ). Without
   * it the core writes the whole value again (`setMany`, conditional on its token).
   */
  refreshMany?(refreshes: readonly StoreRefresh[], options?: StoreCallOptions): Promise<boolean[]>;
  /** Deletes the keys; missing keys are ignored. Must work when the backend refuses writes for lack of memory. */
  deleteMany(keys: readonly string[], options?: StoreCallOptions): Promise<void>;
  /**
   * Deletes `key` only when its value starts with `prefix`, atomically (releasing a lock that may have expired
   * and passed to another holder). Resolves `true` when it deleted.
   */
  deleteIfStartsWith(key: string, prefix: string, options?: StoreCallOptions): Promise<boolean>;
  /**
   * In-process stores: makes every key written with a {@linkcode StoreWrite.scope} that starts with `scope`
   * read as missing from now on (a later write under it is kept), at a cost that does not grow with the number
   * of keys (they are dropped lazily). `clear()` then costs no scan; a store without it is scanned.
   */
  clearScope?(scope: string): Promise<void>;
  /** Lists stored keys that start with `prefix` (diagnostics only; may be slow on large stores). */
  scan?(prefix: string, options?: StoreCallOptions): Promise<string[]>;
  /**
   * Resolves `true` once the store can be reached, or why its first connection failed (within its own timeout;
   * e.g. "authentication failed"). The cache then starts with its breaker open instead of spending a deadline
   * on each early call, and logs the reason once.
   */
  ready?(): Promise<true | string>;
  /** Releases connections. */
  close?(): Promise<void>;
}
