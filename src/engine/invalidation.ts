/**
 * How a namespace invalidates: tags (hard or soft), single entries, and the whole namespace (`clear()`). Each
 * invalidation counts in this process from its start (reads made meanwhile neither serve nor keep what it
 * replaces), drops the loads it overtakes, reaches the store within one deadline or is queued and retried
 * (the queue is shared by a cache and its namespaces), and once landed is pushed to other processes' L1.
 *
 * @module
 */

import type { CacheStore, StoreWrite } from "../store/store.ts";
import { revised, tokenOf } from "../entry/versions.ts";
import { tokenFor } from "../entry/token.ts";
import { Budget } from "./deadline.ts";
import type { InvalidationQueue } from "./invalidation_queue.ts";
import type { Flight } from "../load/flight.ts";
import type { Flights } from "./flights.ts";
import type { KeySpace } from "./key_space.ts";
import type { GuardedStore } from "./guarded_store.ts";
import type { Diagnostics } from "./diagnostics.ts";
import type { BackgroundWork } from "./background.ts";

/** What an invalidation achieved. */
export interface InvalidationResult {
  /** `true` when it reached the store; `false` when it is queued for retry (honoured by this process). */
  readonly delivered: boolean;
  /** Settles once nothing is queued any more, so the invalidation has landed. */
  readonly landed: Promise<void>;
}

/** What an L1 tier must do when an invalidation starts and ends: forget the keys. */
export interface Forgetting {
  forget(keys: readonly string[]): void;
}

/** What the invalidations of one namespace work with. */
export interface InvalidationParts {
  readonly keys: KeySpace;
  readonly guarded: GuardedStore;
  readonly diagnostics: Diagnostics;
  readonly background: BackgroundWork;
  readonly queue: InvalidationQueue;
  /** The loads in progress (shared by a cache and its namespaces). */
  readonly inflight: Flights;
  readonly l1?: Forgetting;
  readonly deadlineMs: number;
  readonly tagTtlMs: number;
}

/** The invalidations of one namespace. */
export class Invalidation {
  readonly #parts: InvalidationParts;
  readonly #store: CacheStore;
  /** The one part every read asks (see {@linkcode isPending}), held directly. */
  readonly #queue: InvalidationQueue;

  constructor(parts: InvalidationParts) {
    this.#parts = parts;
    this.#store = parts.guarded.store;
    this.#queue = parts.queue;
  }

  /** Invalidations (keys, or the namespace as one) that have not reached the store yet. */
  get pending(): number {
    return this.#parts.queue.size;
  }

  /**
   * A mark to take before a read of the store, for {@linkcode isPending}: an invalidation that lands while
   * the read is out may not be in what it returns.
   */
  get mark(): number {
    return this.#parts.queue.landings;
  }

  /**
   * `true` when an invalidation of one of `keys` (or of the whole namespace) has not reached the store yet, or,
   * given the `mark` taken before a read, when one landed since: the read may have been answered before it.
   */
  isPending(keys: readonly string[], mark?: number): boolean {
    const queue = this.#queue;
    return queue.covers(keys) || (mark !== undefined && queue.landedSince(keys, mark));
  }

  /**
   * Invalidates tags by deleting their version keys in one store call: every entry stored under a version
   * no longer matches, and a version is only ever created afresh (`ifAbsent`, a new token), so a late
   * or repeated delete can never bring an old version back. When the store cannot be reached the deletes are
   * queued, honoured by this process at once and retried until they land.
   */
  async tags(tags: readonly string[], soft = false): Promise<InvalidationResult> {
    const unique = [...new Set(tags)];
    if (unique.length === 0) return { delivered: true, landed: Promise.resolve() };
    const { keys: space, diagnostics } = this.#parts;
    // Synchronous unless a tag is long enough to be hashed: the invalidation counts here from its call.
    const made = unique.map((tag) => space.tagKey(tag));
    const keys = made.every((key) => typeof key === "string") ? made as string[] : await Promise.all(made);
    return await this.#invalidating(keys, async (budget) => {
      // A load that started before this invalidation must not be handed to later callers.
      this.#dropWhere((flight) => flight.tagKeys.some((k) => keys.includes(k)));
      diagnostics.metrics.count("cache.invalidate.count", undefined, unique.length);
      if (diagnostics.observed) diagnostics.emit({ type: "invalidate", tags: unique });
      diagnostics.debug(
        `[INVALIDATE] key=tags=[${unique.map((t) => `'${t}'`).join(", ")}]${soft ? " soft" : ""}`,
      );
      if (soft && await this.#revise(keys, budget)) {
        this.#announce(keys, Promise.resolve());
        return { delivered: true, landed: Promise.resolve() };
      }
      return await this.#invalidateKeys(keys, budget);
    });
  }

  /**
   * Invalidates single entries by deleting them. A load in flight cannot undo it: its write is conditional
   * on the token it claimed, which the delete removed.
   */
  async entries(made: readonly (string | Promise<string>)[]): Promise<InvalidationResult> {
    // Synchronous unless a key is long enough to be hashed: the invalidation counts here from its call.
    const entryKeys = made.every((key) => typeof key === "string")
      ? made as string[]
      : await Promise.all(made);
    return await this.#invalidating(entryKeys, (budget) => {
      const { keys: space, diagnostics, inflight } = this.#parts;
      if (diagnostics.observed) {
        diagnostics.emit({ type: "invalidate", keys: entryKeys.map((key) => space.logicalKey(key)) });
      }
      for (const key of entryKeys) inflight.drop(key);
      return this.#invalidateKeys(entryKeys, budget);
    });
  }

  /**
   * Makes every entry of this namespace and of the namespaces under it a miss, in every process sharing the
   * store. Remote stores: one delete of the namespace's generation key, which all those entries were stored
   * under (O(1) whatever their number), queued and retried like a tag invalidation. In-process stores (which
   * read no generation, so that a hit costs no extra lookup): the store's `clearScope`, which drops the entries
   * lazily, else a scan and delete of the namespace's keys. Either way a load in flight does not store, and
   * nobody joins it afterwards.
   */
  clear(): Promise<InvalidationResult> {
    const { keys: space, diagnostics } = this.#parts;
    diagnostics.metrics.count("cache.clear");
    diagnostics.debug(`[CLEAR] namespace=${space.namespace}`);
    const key = space.generationKey;
    if (key === undefined) return this.#clearInProcess();
    return this.#invalidating([key], (budget) => {
      this.#dropWhere((flight) => flight.tagKeys.includes(key));
      return this.#invalidateKeys([key], budget);
    });
  }

  async #clearInProcess(): Promise<InvalidationResult> {
    const { keys: space, inflight } = this.#parts;
    const prefix = space.namespace;
    const store = this.#store;
    if (!store.clearScope && !store.scan) {
      throw new TypeError(`Cannot clear ${prefix}: the ${store.name} store can neither scan nor be cleared`);
    }
    inflight.dropWhere((entryKey) => entryKey.startsWith(prefix));
    if (store.clearScope) await store.clearScope(prefix); // O(1) in entries: no scan
    else {
      const keys = (await store.scan!(prefix)).filter((key) => !space.isLockKey(key));
      await store.deleteMany(keys);
    }
    return { delivered: true, landed: Promise.resolve() };
  }

  /**
   * How every invalidation made here runs (hard, soft, per entry): `keys` count as invalidated in this process
   * from its start until the store took it (or it is queued), so no read made meanwhile serves or keeps what
   * it replaces; and L1 forgets them both at the start and at the end, refusing afterwards any entry vouched
   * for before the store took it. Its store calls share one deadline.
   */
  async #invalidating<T>(keys: readonly string[], work: (budget: Budget) => Promise<T>): Promise<T> {
    const { l1, queue, deadlineMs } = this.#parts;
    l1?.forget(keys);
    try {
      return await queue.making(keys, () => work(new Budget(deadlineMs)));
    } finally {
      l1?.forget(keys);
    }
  }

  /**
   * A soft invalidation: each existing version gets a new revision, conditional on its token (a hard
   * invalidation in between wins). `false` when the store could not take it: the caller falls back to the
   * hard invalidation, which is queued and retried, so nothing is lost.
   */
  async #revise(keys: readonly string[], budget: Budget): Promise<boolean> {
    const { guarded, tagTtlMs } = this.#parts;
    const store = this.#store;
    try {
      const current = await guarded.run("read", (signal) => store.getMany(keys, { signal }), budget, "probe");
      const writes: StoreWrite[] = [];
      current.forEach((version, i) => {
        if (version === null) return; // nothing stored under it
        writes.push({
          key: keys[i],
          value: revised(version, tokenFor(store)),
          ttlMs: tagTtlMs,
          ifStartsWith: tokenOf(version),
        });
      });
      if (writes.length > 0) {
        await guarded.run(
          "invalidate",
          (signal) => store.setMany(writes, { signal, durable: true }),
          budget,
          "probe",
        );
      }
      return true;
    } catch {
      return false;
    }
  }

  /** Loads that `overtaken` says an invalidation overtook: nobody joins them, and they do not store. */
  #dropWhere(overtaken: (flight: Flight) => boolean): void {
    this.#parts.inflight.dropWhere((_, flight) => overtaken(flight));
  }

  async #invalidateKeys(keys: readonly string[], budget: Budget): Promise<InvalidationResult> {
    if (this.#store.capabilities.inProcess) {
      await this.#store.deleteMany(keys);
      return { delivered: true, landed: Promise.resolve() };
    }
    const queue = this.#parts.queue;
    const delivered = await queue.invalidate(keys, budget);
    const landed = queue.landed();
    this.#announce(keys, landed);
    return { delivered, landed };
  }

  /**
   * Push: once the invalidation of `keys` has landed, tells the L1s of every instance of the namespace (when
   * the store can publish; also from caches without L1 of their own). Best effort and in the background: the
   * bound holds without it.
   */
  #announce(keys: readonly string[], landed: Promise<void>): void {
    const store = this.#store;
    const publish = store.publish;
    if (!publish) return;
    const channel = this.#parts.keys.invalidationChannel;
    this.#parts.background.add(landed.then(() => publish.call(store, channel, keys)).catch(() => {}));
  }
}
