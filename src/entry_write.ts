/**
 * Storing a load's result: the entry's lifetimes (ttl, smoothExpiry's jitter, earlyTtl, grace), its envelope,
 * the store's size limit, and the conditional write (compare-and-set on the claimed guard) that loses to any
 * invalidation made since the claim.
 *
 * @module
 */

import type { CacheContext } from "./context.ts";
import type { Budget } from "./deadline.ts";
import { encodeEntry, type EntryMeta } from "./entry.ts";
import type { Encoded } from "./codec.ts";
import type { Claim } from "./flight.ts";
import type { ReadOptions } from "./read_options.ts";
import type { StoreWrite } from "./store.ts";
import { tokenFor } from "./token.ts";
import { utf8Length } from "./keys.ts";

/** The read options that shape a stored entry. */
export type EntryShape = Pick<ReadOptions<string, unknown>, "smoothExpiry" | "earlyTtl" | "staleTtl">;

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
}

/** The conditional write of a result and its logical expiry; `undefined` when it is not to be stored. */
export function entryWrite(
  cache: CacheContext,
  what: string,
  shape: EntryShape,
  item: Storable,
): { write: StoreWrite; freshUntil: number } | undefined {
  const { guard, versions } = item.claim;
  if (guard === undefined || versions === undefined || item.ttl <= 0) return undefined;
  const { clock, random } = cache.settings;
  const now = clock.now();
  // smoothExpiry draws the entry's own lifetime from ttl ± 10 %; earlyTtl scales with it.
  const factor = shape.smoothExpiry ? 0.9 + random() * 0.2 : 1;
  const lifetimeMs = Math.max(1, Math.round(item.ttl * 1000 * factor));
  const early = shape.earlyTtl;
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
    dependencies: item.keys.slice(1).map((key) => key.slice(cache.root.length)),
    etag: item.etag,
    added: item.added,
  };
  const value = encodeEntry(meta, item.encoded);
  const max = cache.store.capabilities.maxValueBytes;
  if (value.length > max || (value.length * 3 > max && utf8Length(value) > max)) {
    cache.metrics.count("cache.error", what);
    cache.warnOnce(
      `size:${what}`,
      `a result of ${what} is larger than the ${cache.store.name} store accepts (${max} bytes); such results are returned but not cached`,
    );
    return undefined;
  }
  return {
    write: {
      key: item.keys[0],
      value,
      ttlMs: meta.staleUntil - now,
      ifStartsWith: guard,
      // For the in-process stores that hold them (a remote store would only be sent them).
      dependsOn: item.keys.length > 1 && cache.store.capabilities.inProcess ? item.keys.slice(1) : undefined,
      scope: cache.namespace,
    },
    freshUntil: meta.freshUntil,
  };
}

/**
 * Applies conditional entry writes in one store call; resolves, per write, whether it was stored (a write
 * that lost to an invalidation or a newer write is counted as superseded). Store failures are reported by
 * `run` and read as not stored: callers still get their values.
 */
export async function storeEntries(
  cache: CacheContext,
  what: string,
  writes: readonly StoreWrite[],
  budget: Budget | undefined,
): Promise<boolean[]> {
  if (writes.length === 0) return [];
  try {
    const stored = await cache.run("write", (signal) => cache.store.setMany(writes, { signal }), budget);
    for (const ok of stored) if (!ok) cache.metrics.count("cache.write.superseded", what);
    return stored;
  } catch {
    return writes.map(() => false);
  }
}
