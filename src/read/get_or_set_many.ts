/**
 * `getOrSetMany`: a batch of keys in one read (entries and their tag versions together: one `MGET` per slot,
 * one `/pipeline`, one `getMany`), one loader call for the misses, one claim and one conditional write for
 * what it loaded (a second call and write for keys loaded again after `ctx.addTags`: see `batch_load.ts`). Keys
 * another caller is loading are joined, not loaded twice; keys this batch loads are joinable by every other read
 * of this cache while it runs.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import { Budget } from "../engine/deadline.ts";
import { copyServed, NOTHING } from "../entry/value.ts";
import { checkEntryShape, type EntryShape } from "../load/entry_write.ts";
import { checkTtl, type Ttl } from "../base/ttl.ts";
import { checkOptions, optionNames } from "../api/option_names.ts";
import { LoadContext } from "../load/loader_context.ts";
import { checkLoader } from "./options.ts";
import { checkSchema, joinedCopy, type StandardSchemaV1 } from "./schema.ts";
import { checkFound, CORRUPT, type Item, itemFor, nearValue, readAll, validValue } from "./batch_items.ts";
import { load, loadedOutput, loadMissing, type ManyLoader, valuesInOrder } from "../load/batch_load.ts";

export type { ManyLoader } from "../load/batch_load.ts";

/** Options of `getOrSetMany`. */
export interface GetOrSetManyOptions extends EntryShape {
  /** Seconds, or `"short" | "default" | "long"`. @default {"default"} */
  ttl?: Ttl;
  /** Tags of each entry: the same for all, or a function of the key. Literal names. */
  tags?: readonly string[] | ((key: string) => readonly string[]);
  /** Hand out the cached values themselves, frozen, instead of copies. @default {false} */
  zeroCopy?: boolean;
  /** Name in logs and metrics. @default {"getOrSetMany"} */
  name?: string;
  /** `false`: these keys neither read nor fill the two-level cache's L1. @default {true} */
  l1?: boolean;
  /**
   * Validates values as `cacheRead`'s `schema` does (any Standard Schema v1): a stored value that fails is a miss
   * (counted as `cache.schema.rejected`) and is loaded again; a loaded one that fails is not cached, and the call
   * rejects with a `SchemaError`. Callers get the schema's output.
   */
  schema?: StandardSchemaV1;
}

/** Every option name of {@linkcode GetOrSetManyOptions}. */
const OPTION_NAMES = optionNames<GetOrSetManyOptions>({
  ttl: 1,
  tags: 1,
  smoothExpiry: 1,
  earlyTtl: 1,
  staleTtl: 1,
  zeroCopy: 1,
  name: 1,
  l1: 1,
  schema: 1,
});

/** Values for `keys` (in their order), loading the missing ones with one call of `loader`. */
export async function getOrSetMany<R>(
  cache: CacheContext,
  keys: readonly string[],
  loader: ManyLoader<R>,
  options: GetOrSetManyOptions = {},
): Promise<Awaited<R>[]> {
  const what = options?.name ?? "getOrSetMany";
  checkOptions(options, OPTION_NAMES, `Cannot cache ${what}`);
  checkTtl(options.ttl, what);
  checkEntryShape(options, options.ttl, what);
  if (!Array.isArray(keys)) throw new TypeError(`Cannot cache ${what}: keys must be an array of strings`);
  checkLoader(loader, `Cannot cache ${what}`);
  const schema = options.schema;
  if (schema !== undefined) checkSchema(schema, what);
  const unique = [...new Set(keys)];
  const made = unique.map((key) => itemFor(cache, key, options.tags, what));
  // Keys are strings unless one is long enough to need hashing (async Web Crypto): keep the common case sync.
  const items = made.some((item) => item instanceof Promise) ? await Promise.all(made) : made as Item[];
  const ttl = cache.ttlSeconds(options.ttl);
  if (ttl === 0) {
    cache.metrics.count("cache.skip", what, unique.length);
    // Nothing is replaced: no stale entries.
    const contexts = unique.map(() => new LoadContext(what));
    const loaded = valuesInOrder(unique, unique, await load(loader, unique, contexts), what);
    const values = await Promise.all(
      loaded.map((value, i) => loadedOutput(contexts[i].settle(value), schema, what)),
    );
    return repeatedCopies(keys, new Map(unique.map((key, i) => [key, values[i]])), cache) as Awaited<R>[];
  }
  const started = performance.now();
  const budget = new Budget(cache.settings.deadlineMs);
  const near = options.l1 === false ? cache.storeTier : cache.near;
  const since = near.dated ? cache.settings.clock.now() : 0; // L1 dates what the read vouches for by it
  const due = items.map((item) => nearValue(cache, near, item, since, options.zeroCopy));
  if (due.some((found) => found !== undefined)) {
    await Promise.all(due);
    budget.spend(performance.now() - started); // validations waited for are the call's store time too
  }
  const mark = cache.invalidation.mark;
  await readAll(cache, items.filter((item) => !item.near && !item.raws), budget);
  const now = cache.settings.clock.now();
  const checking: Promise<void>[] = [];
  for (const item of items) {
    if (item.near) item.found = item.value;
    else if (!item.raws) item.found = NOTHING;
    else {
      const found = validValue(cache, item, now, mark, options.zeroCopy, budget);
      if (found instanceof Promise) checking.push(found.then((value) => void (item.found = value)));
      else item.found = found;
    }
  }
  if (checking.length > 0) await Promise.all(checking);
  if (schema !== undefined) await Promise.all(items.map((item) => checkFound(cache, item, schema, what)));
  const toLoad: Item[] = [];
  let hits = 0, nearHits = 0;
  for (const item of items) {
    if (item.near) {
      nearHits++;
      if (cache.diagnostics.observed) {
        looked(cache, "hit", item.key, what, started, near.name === "l1" ? "l1" : "l2");
      }
      continue;
    }
    const value = item.found;
    if (value === CORRUPT) item.unusable = true;
    else if (value !== NOTHING) {
      item.value = value;
      hits++;
      if (cache.diagnostics.observed) looked(cache, "hit", item.key, what, started, "l2");
      near.keep(item.added ? [...item.keys, ...item.added] : item.keys, item.raws![0]!, since);
      continue;
    }
    cache.metrics.count("cache.miss", what);
    if (cache.diagnostics.observed) looked(cache, "miss", item.key, what, started);
    const running = cache.inflight.get(item.keys[0]);
    if (running?.admits(item.raws, started)) {
      item.flight = running;
      item.joined = true;
    } else toLoad.push(item);
  }
  // Counted once for the batch: a hundred hits are one update, not a hundred.
  if (hits + nearHits > 0) cache.metrics.count("cache.hit", what, hits + nearHits);
  if (nearHits > 0 && near.name === "l1") cache.metrics.count("cache.l1.hit", what, nearHits);
  if (toLoad.length > 0) {
    await loadMissing(cache, toLoad, loader, ttl, budget, options, what, near, since);
  }
  const byKey = new Map<string, unknown>();
  const loading: Promise<unknown>[] = [];
  for (const item of items) {
    if (!item.flight) byKey.set(item.key, item.value);
    else {
      loading.push(item.flight.promise.then(async (result) => {
        byKey.set(item.key, item.joined ? await joinedCopy(result, schema, what) : result.value);
      }));
    }
  }
  if (loading.length > 0) await Promise.all(loading);
  cache.diagnostics.debug(
    `[MANY] keys=${unique.length} hits=${unique.length - toLoad.length} loaded=${toLoad.length} duration_ms=${
      (performance.now() - started).toFixed(1)
    }ms ttl=${ttl}`,
  );
  return repeatedCopies(keys, byKey, cache) as Awaited<R>[];
}

/** The values of `keys` in their order; a key given more than once gets its own copy at each later place. */
function repeatedCopies(keys: readonly string[], byKey: ReadonlyMap<string, unknown>, cache: CacheContext) {
  const seen = new Set<string>();
  return keys.map((key) => {
    if (!seen.has(key)) return seen.add(key), byKey.get(key);
    return copyServed(byKey.get(key), cache.codec);
  });
}

/** A hit or miss event for one key of a batch. */
function looked(
  cache: CacheContext,
  type: "hit" | "miss",
  key: string,
  what: string,
  started: number,
  tier?: "l1" | "l2",
): void {
  cache.diagnostics.emit({ type, key, function: what, tier, durationMs: performance.now() - started });
}
