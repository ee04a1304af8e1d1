/**
 * `getOrSetMany`: a batch of keys in one read (entries and their tag versions together: one `MGET` per slot,
 * one `/pipeline`, one `getMany`), one loader call for the misses, one claim and one conditional write for
 * what it loaded. Keys another caller is loading are joined, not loaded twice; keys this batch loads are
 * joinable by every other read of this cache while it runs.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import { Budget } from "../engine/deadline.ts";
import { decodeEntry, type Entry, isLoadingMarker } from "../entry/entry.ts";
import { NOTHING, readValue } from "../entry/value.ts";
import type { EntryShape } from "../load/entry_write.ts";
import type { Flight } from "../load/flight.ts";
import { isNegativeCacheResult } from "../entry/negative.ts";
import { checkTtl, type Ttl } from "../base/ttl.ts";
import { checkOptionNames, optionNames } from "../api/option_names.ts";
import { compareVersions, type Validity } from "../entry/versions.ts";
import { entryValidity } from "../load/added_tags.ts";
import { verdict } from "../entry/verdict.ts";
import { deleteUnreadable } from "./unreadable.ts";
import { LoadContext } from "../load/loader_context.ts";
import { checkSchema, joinedCopy, type StandardSchemaV1, validStored } from "./schema.ts";
import { Due, type NearTier, Peeked, type Validated } from "../tier/near_tier.ts";
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

/** One distinct key of the batch and what the read found for it. */
interface Item {
  readonly key: string;
  readonly keys: readonly string[];
  raws?: (string | null)[];
  value?: unknown;
  /** Served by L1 (not read from the store). */
  near?: boolean;
  /** What the read found: a value, a miss (`NOTHING`), or an entry to delete first (`CORRUPT`). */
  found?: unknown;
  flight?: Flight;
  joined?: boolean;
  /** The keys of tags the found entry's loader added, read to validate it. */
  added?: readonly string[];
}

/** Values for `keys` (in their order), loading the missing ones with one call of `loader`. */
export async function getOrSetMany<R>(
  cache: CacheContext,
  keys: readonly string[],
  loader: ManyLoader<R>,
  options: GetOrSetManyOptions = {},
): Promise<Awaited<R>[]> {
  const what = options.name ?? "getOrSetMany";
  checkOptionNames(options, OPTION_NAMES, `Cannot cache ${what}`);
  checkTtl(options.ttl, what);
  checkTtl(options.staleTtl, what, "staleTtl");
  if (!Array.isArray(keys)) throw new TypeError(`Cannot cache ${what}: keys must be an array of strings`);
  if (typeof loader !== "function") throw new TypeError(`Cannot cache ${what}: expected a loader function`);
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
    return valuesInOrder(keys, unique, values, what) as Awaited<R>[];
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
  const unreadable: Item[] = [];
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
    if (value === CORRUPT) unreadable.push(item);
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
  if (unreadable.length > 0) {
    const items = unreadable.map((item) => ({ logical: item.key, keys: item.keys, raws: item.raws }));
    await deleteUnreadable(cache, what, items, budget);
  }
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
  const seen = new Set<string>();
  return keys.map((key) => {
    if (!seen.has(key)) return seen.add(key), byKey.get(key);
    return structuredClone(byKey.get(key)); // a repeated key gets its own copy
  }) as Awaited<R>[];
}

/**
 * Checks a found value against the schema: one that fails is a miss (see {@linkcode validStored}), also when L1
 * held it; one that passes is the schema's output.
 */
async function checkFound(cache: CacheContext, item: Item, schema: StandardSchemaV1, what: string) {
  const found = item.found;
  if (found === NOTHING || found === CORRUPT || isNegativeCacheResult(found)) return;
  item.found = await validStored(cache, schema, found, what, item.key);
  if (item.near) {
    if (item.found === NOTHING) item.near = false;
    else item.value = item.found;
  }
}

function itemFor(
  cache: CacheContext,
  key: unknown,
  tags: GetOrSetManyOptions["tags"],
  what: string,
): Item | Promise<Item> {
  if (typeof key !== "string" || key === "" || !key.isWellFormed()) {
    throw new TypeError(
      `Cannot cache ${what}: keys must be non-empty, well-formed strings, current value is ${
        JSON.stringify(key)
      }`,
    );
  }
  const names = typeof tags === "function" ? tags(key) : tags ?? [];
  if (!Array.isArray(names) || names.some((t) => typeof t !== "string" || t === "" || !t.isWellFormed())) {
    throw new TypeError(
      `Cannot cache ${what}: tags of ${
        JSON.stringify(key)
      } must be an array of non-empty strings, current value is ${JSON.stringify(names)}`,
    );
  }
  const storeKeys = [cache.keys.entryKey(key)];
  for (const generation of cache.keys.generationKeys) storeKeys.push(generation);
  for (const tag of names) storeKeys.push(cache.keys.tagKey(tag));
  return storeKeys.every((k) => typeof k === "string")
    ? { key, keys: storeKeys as string[] }
    : Promise.all(storeKeys).then((keys) => ({ key, keys }));
}

/**
 * The item's value from the near tier, when it may serve it: set at once, or once validated (the promise
 * returned then; `undefined` otherwise). What an in-process store's peek read is the item's read.
 */
function nearValue(
  cache: CacheContext,
  near: NearTier,
  item: Item,
  since: number,
  zeroCopy: boolean | undefined,
): Promise<void> | undefined {
  const found = near.find(item.keys, since);
  if (found instanceof Peeked) item.raws = found.raws;
  else if (found instanceof Due) {
    return found.validation.then((entry) => nearHit(cache, item, entry, zeroCopy));
  } else nearHit(cache, item, found, zeroCopy);
}

function nearHit(cache: CacheContext, item: Item, entry: Validated, zeroCopy: boolean | undefined): void {
  const value = entry && entry !== "unavailable" ? readValue(entry, cache.codec, zeroCopy) : NOTHING;
  if (value === NOTHING) return;
  item.value = value;
  item.near = true;
}

/** One read of every item's keys (shared keys read once); items stay unread when the store cannot answer. */
async function readAll(cache: CacheContext, items: Item[], budget: Budget): Promise<void> {
  const index = keyIndex(items.map((item) => item.keys));
  try {
    const keys = [...index.keys()];
    const raws = await cache.guarded.run("read", (signal) => cache.store.getMany(keys, { signal }), budget);
    for (const item of items) item.raws = item.keys.map((key) => raws[index.get(key)!]);
  } catch { /* reported by run(): every key loads */ }
}

/** Each distinct key of `lists`, in first-seen order, with its position in the merged list. */
function keyIndex(lists: readonly (readonly string[])[]): Map<string, number> {
  const index = new Map<string, number>();
  for (const keys of lists) for (const key of keys) if (!index.has(key)) index.set(key, index.size);
  return index;
}

/** An entry that did not decode: a miss, reported and deleted so that its load can claim the key. */
const CORRUPT: unique symbol = Symbol("corrupt");

/**
 * The value of the fresh entry read in `raws` (entry, then versions), `NOTHING` (a miss), or `CORRUPT` (a
 * miss whose entry must go first).
 */
function validValue(
  cache: CacheContext,
  item: Item,
  now: number,
  mark: number,
  zeroCopy: boolean | undefined,
  budget: Budget,
): unknown | Promise<unknown> {
  const raws = item.raws!, keys = item.keys, raw = raws[0];
  if (raw === null || isLoadingMarker(raw)) return NOTHING;
  const entry = decodeEntry(raw);
  if (entry?.added) {
    // Stored with tags its loader added: their versions are read too (one more request, for such entries only).
    return entryValidity(cache, entry, keys, raws, mark, budget).then(({ validity, pending, added }) => {
      item.added = added;
      return judged(cache, entry, validity, pending, now, zeroCopy);
    });
  }
  const validity = entry ? compareVersions(entry.versions, raws) : "invalid";
  return judged(cache, entry, validity, cache.invalidation.isPending(keys, mark), now, zeroCopy);
}

/** The value of an entry judged by the rule every read uses; fresh only: a batch has no refresh to serve stale with. */
function judged(
  cache: CacheContext,
  entry: Entry | undefined,
  validity: Validity,
  pending: boolean,
  now: number,
  zeroCopy: boolean | undefined,
): unknown {
  const verdicted = verdict(entry, validity, pending, now, false, false);
  if (verdicted === "corrupt") return CORRUPT;
  return verdicted === "fresh" ? readValue(entry!, cache.codec, zeroCopy) : NOTHING;
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
