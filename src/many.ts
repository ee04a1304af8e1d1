/**
 * `getOrSetMany`: a batch of keys in one read (entries and their tag versions together: one `MGET` per slot,
 * one `/pipeline`, one `getMany`), one loader call for the misses, one claim and one conditional write for
 * what it loaded. Keys another caller is loading are joined, not loaded twice; keys this batch loads are
 * joinable by every other read of this cache while it runs.
 *
 * @module
 */

import type { CacheContext } from "./context.ts";
import { Budget } from "./deadline.ts";
import { decodeEntry, isLoadingMarker } from "./entry.ts";
import { NOTHING, readEncoded, readValue } from "./entry_value.ts";
import { type EntryShape, type EntryWrite, entryWrite, storeEntries } from "./entry_write.ts";
import { claimMany } from "./claim.ts";
import { runLoader } from "./run_loader.ts";
import { Flight, type LoadResult } from "./flight.ts";
import type { Encoded } from "./codec.ts";
import { isNegativeCacheResult } from "./negative.ts";
import { checkTtl, type Ttl } from "./ttl.ts";
import { checkOptionNames, optionNames } from "./option_names.ts";
import { compareVersions } from "./versions.ts";
import { verdict } from "./verdict.ts";
import { deleteUnreadable } from "./read/unreadable.ts";
import type { L1Tier } from "./l1/tier.ts";
import { LoadContext, type LoaderContext } from "./loader_context.ts";
import { replacedEntry } from "./load_runner.ts";
import { checkSchema, joinedCopy, type StandardSchemaV1, validateLoaded, validStored } from "./schema.ts";

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

/**
 * Loads the missing keys: values in the order given, or a `Map` from key to value. `contexts` holds each missing
 * key's loader context, in the order of `missing` (see `LoaderContext`; `addTags` is not available here): return
 * `contexts[i].notModified()` as the value of `missing[i]` to keep its stale value.
 */
export type ManyLoader<R> = (
  missing: string[],
  contexts: readonly LoaderContext[],
) => readonly R[] | ReadonlyMap<string, R> | Promise<readonly R[] | ReadonlyMap<string, R>>;

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
  const items = await Promise.all(unique.map((key) => itemFor(cache, key, options.tags, what)));
  const ttl = cache.ttlSeconds(options.ttl);
  if (ttl === 0) {
    cache.metrics.count("cache.skip", what, unique.length);
    // Nothing is replaced: no stale entries.
    const contexts = unique.map(() => new LoadContext(what, undefined, false));
    const loaded = valuesInOrder(unique, unique, await load(loader, unique, contexts), what);
    const values = await Promise.all(
      loaded.map((value, i) => loadedOutput(contexts[i].settle(value), schema, what)),
    );
    return valuesInOrder(keys, unique, values, what) as Awaited<R>[];
  }
  const started = performance.now();
  const budget = new Budget(cache.settings.deadlineMs);
  const l1 = options.l1 === false ? undefined : cache.l1;
  const since = l1 ? cache.settings.clock.now() : 0; // L1 dates what the read vouches for by it
  if (l1) {
    await Promise.all(items.map((item) => nearValue(cache, l1, item, since, options.zeroCopy)));
    budget.spend(performance.now() - started); // validations waited for are the call's store time too
  }
  const mark = cache.invalidation.mark;
  await readAll(cache, items.filter((item) => !item.near), budget);
  const now = cache.settings.clock.now();
  for (const item of items) {
    if (item.near) item.found = item.value;
    else {item.found = item.raws
        ? validValue(cache, item.raws, now, item.keys, mark, options.zeroCopy)
        : NOTHING;}
  }
  if (schema !== undefined) await Promise.all(items.map((item) => checkFound(cache, item, schema, what)));
  const toLoad: Item[] = [];
  const unreadable: Item[] = [];
  for (const item of items) {
    if (item.near) {
      cache.metrics.count("cache.hit", what);
      cache.metrics.count("cache.l1.hit", what);
      if (cache.diagnostics.observed) looked(cache, "hit", item.key, what, started, "l1");
      continue;
    }
    const value = item.found;
    if (value === CORRUPT) unreadable.push(item);
    else if (value !== NOTHING) {
      item.value = value;
      cache.metrics.count("cache.hit", what);
      if (cache.diagnostics.observed) looked(cache, "hit", item.key, what, started, "l2");
      l1?.keep(item.keys, item.raws![0]!, since);
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
  if (unreadable.length > 0) {
    const items = unreadable.map((item) => ({ logical: item.key, keys: item.keys, raws: item.raws }));
    await deleteUnreadable(cache, what, items, budget);
  }
  if (toLoad.length > 0) {
    await loadMissing(
      cache,
      toLoad,
      loader,
      ttl,
      budget,
      options,
      what,
      l1 && ((keys, raw) => l1.keep(keys, raw, since)),
    );
  }
  const byKey = new Map<string, unknown>();
  await Promise.all(items.map(async (item) => {
    if (!item.flight) return byKey.set(item.key, item.value);
    const result = await item.flight.promise;
    byKey.set(item.key, item.joined ? await joinedCopy(result, schema, what) : result.value);
  }));
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

/** The batch loader's answer, with each missing key's context. */
function load<R>(loader: ManyLoader<R>, missing: string[], contexts: readonly LoadContext[]) {
  try {
    return Promise.resolve(loader(missing, contexts)).catch((error) => {
      for (const ctx of contexts) ctx.fail();
      throw error;
    });
  } catch (error) {
    for (const ctx of contexts) ctx.fail();
    return Promise.reject(error);
  }
}

/** What the caller gets of a loaded value: the schema's output (a `SchemaError` when it fails). */
function loadedOutput(value: unknown, schema: StandardSchemaV1 | undefined, what: string): Promise<unknown> {
  return schema && !isNegativeCacheResult(value)
    ? validateLoaded(schema, value, what)
    : Promise.resolve(value);
}

async function itemFor(
  cache: CacheContext,
  key: unknown,
  tags: GetOrSetManyOptions["tags"],
  what: string,
): Promise<Item> {
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
  return { key, keys: await Promise.all(storeKeys) };
}

/** The item's value from L1, when L1 may serve it (validated first when due). */
async function nearValue(
  cache: CacheContext,
  l1: L1Tier,
  item: Item,
  since: number,
  zeroCopy: boolean | undefined,
): Promise<void> {
  const entry = await l1.entry(item.keys, since);
  const value = entry ? readValue(entry, cache.codec, zeroCopy) : NOTHING;
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
  raws: (string | null)[],
  now: number,
  keys: readonly string[],
  mark: number,
  zeroCopy: boolean | undefined,
): unknown {
  const raw = raws[0];
  if (raw === null || isLoadingMarker(raw)) return NOTHING;
  const entry = decodeEntry(raw);
  // Fresh only: a batch has no background refresh to serve a stale value with.
  const judged = verdict(
    entry,
    entry ? compareVersions(entry.versions, raws) : "invalid",
    cache.invalidation.isPending(keys, mark),
    now,
    false,
    false,
  );
  if (judged === "corrupt") return CORRUPT;
  return judged === "fresh" ? readValue(entry!, cache.codec, zeroCopy) : NOTHING;
}

/** Claims, loads (one loader call) and stores (one write) the items nobody else is loading. */
async function loadMissing<R>(
  cache: CacheContext,
  items: Item[],
  loader: ManyLoader<R>,
  ttl: number,
  budget: Budget,
  options: GetOrSetManyOptions,
  what: string,
  keep?: (keys: readonly string[], raw: string) => void,
): Promise<void> {
  const settlers = items.map((item) => {
    const flight = new Flight(item.keys.slice(1));
    let settle!: { resolve: (r: LoadResult) => void; reject: (e: unknown) => void };
    flight.promise = new Promise<LoadResult>((resolve, reject) => settle = { resolve, reject });
    flight.promise.catch(() => {}); // awaited by the callers; a rejection is theirs
    cache.inflight.add(item.keys[0], flight);
    item.flight = flight;
    return settle;
  });
  try {
    const claims = await claimMany(
      cache,
      items.map((i) => ({ keys: i.keys, observed: i.raws })),
      ttl,
      budget,
    );
    items.forEach((item, i) => item.flight!.loading(claims[i]));
    // Each key's context, as a single read's load makes it (ctx.stale: the entry the read found, while valid).
    const contexts = items.map((item, i) =>
      new LoadContext(what, () => replacedEntry(cache, item.keys, item.raws, [], claims[i]), false)
    );
    const loadStarted = cache.settings.clock.now();
    const missing = items.map((item) => item.key);
    const { value: loaded, durationMs } = await runLoader(
      cache,
      what,
      { keys: missing },
      () => load(loader, missing, contexts),
    );
    const values = valuesInOrder(missing, missing, loaded, what).map((value, i) => contexts[i].settle(value));
    const loadMs = Math.max(0, cache.settings.clock.now() - loadStarted);
    cache.metrics.count("cache.load", what);
    cache.metrics.time("cache.load.ms", durationMs, what);
    // What each caller gets: the schema's output; a value that fails it is not stored, and its key rejects.
    const outputs = await Promise.all(
      values.map((value) =>
        loadedOutput(value, options.schema, what).then((output) => ({ output }), (error) => ({ error }))
      ),
    );
    const writes: EntryWrite[] = [], written: Item[] = [], results: (LoadResult | { error: unknown })[] = [];
    for (let i = 0; i < items.length; i++) {
      const value = values[i], ctx = contexts[i], checked = outputs[i];
      if ("error" in checked) {
        results.push(checked);
        continue;
      }
      const negative = isNegativeCacheResult(value);
      const itemTtl = ctx.ttl ?? (negative ? value.ttl : ttl);
      let encoded: Encoded | undefined;
      try {
        encoded = cache.codec.serialize(negative ? value.value : value, what);
      } catch (error) {
        cache.metrics.count("cache.error", what);
        cache.diagnostics.warnOnce(
          `serialize:${what}`,
          `${(error as Error).message}; results are returned but not cached`,
        );
      }
      const copyOf = encoded;
      results.push({
        value: checked.output,
        copy: copyOf ? () => readEncoded(copyOf, negative, itemTtl, cache.codec) : () => value,
      });
      if (!encoded || ctx.skipped || items[i].flight!.dropped) continue;
      const kept = ctx.kept ? items[i].raws?.[0] ?? undefined : undefined;
      const item = {
        keys: items[i].keys,
        claim: claims[i],
        encoded,
        negative,
        ttl: itemTtl,
        loadMs,
        etag: ctx.etag,
        kept,
      };
      const entry = entryWrite(cache, what, options, item);
      if (entry) writes.push(entry), written.push(items[i]);
    }
    const stored = await storeEntries(cache, what, writes, budget);
    // L1 and the store change together: only what the store took is kept.
    if (keep) stored.forEach((ok, i) => ok && keep(written[i].keys, writes[i].write.value));
    results.forEach((result, i) =>
      "error" in result ? settlers[i].reject(result.error) : settlers[i].resolve(result)
    );
  } catch (error) {
    for (const settle of settlers) settle.reject(error);
    throw error;
  }
}

/**
 * The loader's answer (for `wanted`) as values in the order of `keys`; a missing value, or an array of the
 * wrong length, is an error naming the keys.
 */
function valuesInOrder(
  keys: readonly string[],
  wanted: readonly string[],
  answer: readonly unknown[] | ReadonlyMap<string, unknown>,
  what: string,
): unknown[] {
  let values: unknown[];
  if (answer instanceof Map) {
    const missing = wanted.filter((key) => !answer.has(key));
    if (missing.length > 0) throw loaderError(what, missing);
    values = wanted.map((key) => answer.get(key));
  } else if (Array.isArray(answer)) {
    if (answer.length < wanted.length) throw loaderError(what, wanted.slice(answer.length));
    if (answer.length > wanted.length) {
      throw new TypeError(
        `Cannot cache ${what}: the loader returned ${answer.length} values for ${wanted.length} keys; nothing was cached`,
      );
    }
    values = [...answer];
  } else {
    throw new TypeError(
      `Cannot cache ${what}: the loader must return an array or a Map, current value is ${answer}`,
    );
  }
  if (keys === wanted) return values;
  const byKey = new Map(wanted.map((key, i) => [key, values[i]]));
  return keys.map((key) => byKey.get(key));
}

function loaderError(what: string, missing: readonly string[]): TypeError {
  const shown = missing.slice(0, 5).map((k) => JSON.stringify(k)).join(", ") +
    (missing.length > 5 ? ", …" : "");
  return new TypeError(
    `Cannot cache ${what}: the loader returned no value for ${missing.length} key${
      missing.length === 1 ? "" : "s"
    } (${shown}); nothing was cached`,
  );
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
