/**
 * Storing a load's result: the entry's lifetimes (ttl, smoothExpiry's jitter, earlyTtl, grace), its envelope,
 * the store's size limit, and the conditional write (compare-and-set on the claimed guard) that loses to any
 * invalidation made since the claim.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import type { Budget } from "../engine/deadline.ts";
import { encodeEntry, endsFor, entryEnds, type EntryMeta } from "../entry/entry.ts";
import type { Encoded } from "../entry/codec.ts";
import type { Claim, Lifetime } from "./flight.ts";
import type { ReadOptions } from "../read/options.ts";
import type { StoreRefresh, StoreWrite } from "../store/store.ts";
import { randomToken, tokenFor } from "../entry/token.ts";
import { unwrapNegativeCacheResult } from "../entry/negative.ts";
import { utf8Length } from "../keys/template.ts";
import { checkSeconds, type Ttl } from "../base/ttl.ts";

/** The read options that shape a stored entry. */
export type EntryShape = Pick<ReadOptions<string, unknown>, "smoothExpiry" | "earlyTtl" | "staleTtl">;

/**
 * Checks the options that shape a stored entry, for every kind of read that stores one: `staleTtl` and
 * `earlyTtl` are seconds (a named TTL there would be stored as `NaN`), and `earlyTtl` is below a numeric `ttl`.
 *
 * @throws {RangeError} a `staleTtl` or `earlyTtl` that is not seconds, an `earlyTtl` not below `ttl`.
 */
export function checkEntryShape(shape: EntryShape, ttl: Ttl | undefined, what: string): void {
  checkSeconds(shape.staleTtl, what, "staleTtl");
  checkSeconds(shape.earlyTtl, what, "earlyTtl");
  if (shape.earlyTtl !== undefined && typeof ttl === "number" && shape.earlyTtl >= ttl) {
    throw new RangeError(
      `Cannot cache ${what}: earlyTtl must be less than ttl, current values are ${shape.earlyTtl} and ${ttl}`,
    );
  }
}

/** One result to store: its keys (entry, then dependencies), its claim, its encoded value. */
export interface Storable {
  readonly keys: readonly string[];
  readonly claim: Claim;
  readonly encoded: Encoded;
  readonly negative: boolean;
  /** Seconds. */
  readonly ttl: number;
  readonly loadMs: number;
  /** The loader's `ctx.setEtag` (or the kept entry's). */
  readonly etag?: string;
  /** The last of `keys` are tags the loader added (`ctx.addTags`). */
  readonly added?: boolean;
  /** The stored entry whose value the loader kept (`ctx.notModified()`), as read. */
  readonly kept?: string;
}

/** How one result is stored: `write`, or `refresh` (its ends only) where the store can. */
export interface EntryWrite {
  readonly write: StoreWrite;
  /** The same result as new ends around the kept entry's value, as stored: the value is not sent again. */
  readonly refresh?: StoreRefresh;
  readonly lifetime: Lifetime;
}

/** The conditional write of a result and its logical expiry; `undefined` when it is not to be stored. */
export function entryWrite(
  cache: CacheContext,
  what: string,
  shape: EntryShape,
  item: Storable,
): EntryWrite | undefined {
  const { guard, versions } = item.claim;
  if (guard === undefined || versions === undefined || item.ttl <= 0) return undefined;
  const { clock, random } = cache.settings;
  const now = clock.now();
  // smoothExpiry draws the entry's own lifetime from ttl ± 10 %; earlyTtl scales with it.
  const factor = shape.smoothExpiry ? 0.9 + random() * 0.2 : 1;
  const lifetimeMs = Math.max(1, Math.round(item.ttl * 1000 * factor));
  const early = shape.earlyTtl;
  if (early !== undefined && early >= item.ttl && !item.negative) {
    // A named or default ttl (read from the env when called) or ctx.setTtl can end up at or below earlyTtl.
    cache.diagnostics.warnOnce(
      `early:${what}`,
      `earlyTtl of ${what} (${early} s) is not below the ttl of its result (${item.ttl} s): it is not refreshed early`,
    );
  }
  const graceMs = item.negative ? 0 : (shape.staleTtl ?? 0) * 1000;
  const meta: EntryMeta = {
    token: tokenFor(cache.store),
    createdAt: now,
    freshUntil: now + lifetimeMs,
    refreshAt: early !== undefined && !item.negative
      ? now + Math.round(early * 1000 * factor)
      : now + lifetimeMs,
    staleUntil: now + lifetimeMs + graceMs,
    negative: item.negative,
    ttl: item.ttl,
    loadMs: item.loadMs,
    versions,
    dependencies: item.keys.slice(1).map((key) => key.slice(cache.keys.root.length)),
    etag: item.etag,
    added: item.added,
  };
  // A kept value is stored as it was (not serialized again), so that a store able to refresh its ends in place
  // leaves it there; the entry it replaces must be the claimed one.
  const ends = item.kept !== undefined && cache.store.refreshMany ? entryEnds(item.kept) : undefined;
  const inPlace = ends !== undefined && ends.negative === item.negative && ends.head.startsWith(guard);
  const encoded = inPlace ? { text: ends.middle, json: ends.json } : item.encoded;
  const value = encodeEntry(meta, encoded);
  const max = cache.store.capabilities.maxValueBytes;
  if (tooLarge(value, max)) {
    cache.metrics.count("cache.error", what);
    cache.diagnostics.warnOnce(
      `size:${what}`,
      `a result of ${what} is larger than the ${cache.store.name} store accepts (${max} bytes); such results are returned but not cached`,
    );
    return undefined;
  }
  const write: StoreWrite = {
    key: item.keys[0],
    value,
    ttlMs: meta.staleUntil - now,
    ifStartsWith: guard,
    // For the in-process stores that hold them (a remote store would only be sent them).
    dependsOn: item.keys.length > 1 && cache.store.capabilities.inProcess ? item.keys.slice(1) : undefined,
    scope: cache.keys.namespace,
  };
  const refresh: StoreRefresh | undefined = inPlace
    ? {
      key: write.key,
      ifStartsWith: ends.head,
      ifEndsWith: ends.tail,
      ...endsFor(meta, ends.json),
      ttlMs: write.ttlMs,
      dependsOn: write.dependsOn,
      scope: write.scope,
    }
    : undefined;
  return { write, refresh, lifetime: { createdAt: now, freshUntil: meta.freshUntil } };
}

/**
 * Applies conditional entry writes in one store call (refreshes in place in a second one sent with it);
 * resolves, per entry, whether it was stored (a write that lost to an invalidation or a newer write is counted
 * as superseded). Store failures are reported by `run` and read as not stored: callers still get their values.
 */
export async function storeEntries(
  cache: CacheContext,
  what: string,
  entries: readonly EntryWrite[],
  budget: Budget | undefined,
): Promise<boolean[]> {
  if (entries.length === 0) return [];
  const store = cache.store;
  const writes = entries.filter((e) => !e.refresh).map((e) => e.write);
  const refreshes = entries.flatMap((e) => e.refresh ? [e.refresh] : []);
  try {
    const stored = await cache.guarded.run("write", async (signal) => {
      const [written, refreshed] = await Promise.all([
        writes.length > 0 ? store.setMany(writes, { signal }) : [],
        refreshes.length > 0 ? store.refreshMany!(refreshes, { signal }) : [],
      ]);
      let w = 0, r = 0;
      return entries.map((e) => e.refresh ? refreshed[r++] : written[w++]);
    }, budget);
    for (const ok of stored) if (!ok) cache.metrics.count("cache.write.superseded", what);
    return stored;
  } catch {
    return entries.map(() => false);
  }
}

/** `true` when `text` takes more than `max` bytes in UTF-8 (counted only when its length says it may). */
export function tooLarge(text: string, max: number): boolean {
  return text.length > max || (text.length * 3 > max && utf8Length(text) > max);
}

/**
 * What `set` checks before it writes, so that it throws rather than resolve having stored nothing: a value
 * that cannot be stored exactly, or whose entry the store would not take. The entry is measured with the
 * widest metadata it can carry (every number at its widest, a version for each of its dependencies).
 * Synchronous unless a tag's key is hashed: a tick here would let calls made after `set` claim the key first.
 *
 * @throws {TypeError} a value that cannot be stored exactly.
 * @throws {RangeError} a value whose entry is larger than the store accepts.
 */
export function checkSettable(
  cache: CacheContext,
  value: unknown,
  tags: readonly string[],
  what: string,
): Promise<void> | undefined {
  const encoded = cache.codec.serialize(unwrapNegativeCacheResult(value), `the value set at ${what}`);
  const tagKeys = tags.map((tag) => cache.keys.tagKey(tag));
  if (tagKeys.every((key) => typeof key === "string")) return checkEntrySize(cache, encoded, tagKeys, what);
  return Promise.all(tagKeys).then((keys) => checkEntrySize(cache, encoded, keys, what));
}

function checkEntrySize(cache: CacheContext, encoded: Encoded, tagKeys: string[], what: string): undefined {
  const { keys } = cache;
  const dependencies = [...tagKeys, ...keys.generationKeys].map((key) => key.slice(keys.root.length));
  const wide = -1.2345678901234567e-123; // as long as a number prints (fractional clocks print long)
  const token = randomToken();
  const widest: EntryMeta = {
    token,
    createdAt: wide,
    freshUntil: wide,
    refreshAt: wide,
    staleUntil: wide,
    negative: true,
    ttl: wide,
    loadMs: wide,
    versions: dependencies.map(() => token),
    dependencies,
    added: true,
  };
  const entry = encodeEntry(widest, encoded);
  const max = cache.store.capabilities.maxValueBytes;
  if (tooLarge(entry, max)) {
    throw new RangeError(
      `Cannot set ${what}: the ${cache.store.name} store takes entries of at most ${max} bytes, current value makes one of ${
        utf8Length(entry)
      }`,
    );
  }
}
