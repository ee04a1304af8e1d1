/**
 * The load of a batch's missing keys (`getOrSetMany`): each key registered as a load in progress (so any read
 * of this cache joins it), one claim for all, one call of the batch loader, then what a single load does with
 * each value (see `loaded.ts`): encoded, handed to its callers, and written together in one store call. Keys
 * that must be loaded again (see `loadRound`) get a second round of their own.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import type { Budget } from "../engine/deadline.ts";
import type { EntryShape } from "./entry_write.ts";
import { claimMany } from "./claim.ts";
import { runLoader } from "./run_loader.ts";
import { Flight, type LoadResult } from "./flight.ts";
import { isNegativeCacheResult } from "../entry/negative.ts";
import { LoadContext, type LoaderContext } from "./loader_context.ts";
import { replacedEntry } from "./replaced_entry.ts";
import { loadAddedKeys, mustLoadAgain, priorAddedKeys, storedDependencies } from "./added_tags.ts";
import { type StandardSchemaV1, validateLoaded } from "../read/schema.ts";
import { encodeLoaded, loadResult, storeLoaded, type ToStore } from "./loaded.ts";
import type { NearTier } from "../tier/near_tier.ts";

/**
 * Loads the missing keys: values in the order given, or a `Map` from key to value. `contexts` holds each missing
 * key's loader context, in the order of `missing` (see `LoaderContext`): return
 * `contexts[i].notModified()` as the value of `missing[i]` to keep its stale value.
 */
export type ManyLoader<R> = (
  missing: string[],
  contexts: readonly LoaderContext[],
) => readonly R[] | ReadonlyMap<string, R> | Promise<readonly R[] | ReadonlyMap<string, R>>;

/** What a batch load needs of `getOrSetMany`'s options. */
export interface BatchOptions extends EntryShape {
  readonly schema?: StandardSchemaV1;
}

/** One missing key: its entry and dependency keys, what the batch read found there, and its load once started. */
export interface BatchItem {
  readonly key: string;
  readonly keys: readonly string[];
  readonly raws?: (string | null)[];
  /** The batch read could not use the entry it found (its claim reports it, and it is replaced). */
  unusable?: boolean;
  flight?: Flight;
}

/** Claims, loads (one loader call) and stores (one write) the items nobody else is loading. */
export async function loadMissing<R>(
  cache: CacheContext,
  items: BatchItem[],
  loader: ManyLoader<R>,
  ttl: number,
  budget: Budget,
  options: BatchOptions,
  what: string,
  near: NearTier,
  since: number,
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
    // The added tags of each key's previous entry are read with the claim, before the load (see added_tags.ts).
    const priors = items.map((item) => priorAddedKeys(cache, item.keys, item.raws));
    const batch: Batch<R> = { cache, loader, ttl, budget, options, what, near, since };
    const settle = (i: number, result: LoadResult | { error: unknown }) =>
      "error" in result ? settlers[i].reject(result.error) : settlers[i].resolve(result);
    const { results, redo, added } = await loadRound(batch, items, priors, false);
    // The keys loaded once are settled now; those loaded again (see `loadRound`) when their load is done, each
    // on its own: a failure of the second call is theirs alone, as a single load's would be.
    results.forEach((result, i) => redo.includes(i) || settle(i, result));
    if (redo.length > 0) {
      let second: (LoadResult | { error: unknown })[];
      try {
        // Read afresh (their claim reads the state), the tags they added read before the second load.
        const again = redo.map((i) => ({ key: items[i].key, keys: items[i].keys, flight: items[i].flight }));
        second = (await loadRound(batch, again, redo.map((i) => added[i]), true)).results;
      } catch (error) {
        second = redo.map(() => ({ error }));
      }
      redo.forEach((i, at) => settle(i, second[at]));
    }
  } catch (error) {
    for (const settle of settlers) settle.reject(error);
    throw error;
  }
}

/** What every round of one batch load shares. */
interface Batch<R> {
  readonly cache: CacheContext;
  readonly loader: ManyLoader<R>;
  readonly ttl: number;
  readonly budget: Budget;
  readonly options: BatchOptions;
  readonly what: string;
  readonly near: NearTier;
  readonly since: number;
}

/**
 * One round: claims `items` (their keys and the `priors`' added tags), calls the loader once, and stores what it
 * returned. A key whose loader added a tag its claim had not read, and that callers joined because they read the
 * state it claimed, is not stored but named in `redo` (unless this round is already the second, `again`), with
 * the keys of the tags it added: it must be loaded once more, those tags read first, as a single load does:
 * those callers' reads did not cover that tag.
 */
async function loadRound<R>(
  batch: Batch<R>,
  items: readonly BatchItem[],
  priors: readonly (readonly string[])[],
  again: boolean,
): Promise<{ results: (LoadResult | { error: unknown })[]; redo: number[]; added: (readonly string[])[] }> {
  const { cache, loader, ttl, budget, options, what, near, since } = batch;
  const claims = await claimMany(
    cache,
    items.map((item, i) => ({
      keys: [...item.keys, ...priors[i]],
      observed: item.raws,
      unusable: item.unusable && !again,
    })),
    ttl,
    budget,
    what,
  );
  items.forEach((item, i) => item.flight!.loading(claims[i]));
  // Each key's context, as a single read's load makes it (ctx.stale: the entry the read found, while valid).
  const contexts = items.map((item, i) =>
    new LoadContext(what, () => replacedEntry(cache, item.keys, item.raws, priors[i], claims[i]))
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
  const added = await Promise.all(
    contexts.map((ctx, i) => loadAddedKeys(cache, items[i].keys, ctx, priors[i])),
  );
  const redo = items.flatMap((item, i) =>
    mustLoadAgain(added[i], priors[i], item.flight!) && !again ? [i] : []
  );
  // What each caller gets: the schema's output; a value that fails it is not stored, and its key rejects.
  const outputs = await Promise.all(
    values.map((value) =>
      loadedOutput(value, options.schema, what).then((output) => ({ output }), (error) => ({ error }))
    ),
  );
  const toStore: ToStore[] = [], storing: number[] = [], results: (LoadResult | { error: unknown })[] = [];
  for (let i = 0; i < items.length; i++) {
    const value = values[i], ctx = contexts[i], checked = outputs[i];
    if ("error" in checked) {
      results.push(checked);
      continue;
    }
    const negative = isNegativeCacheResult(value);
    const itemTtl = ctx.ttl ?? (negative ? value.ttl : ttl);
    const encoded = encodeLoaded(cache, what, negative ? value.value : value);
    results.push(loadResult(cache, checked.output, encoded, negative, itemTtl));
    if (!encoded || ctx.skipped || items[i].flight!.dropped || redo.includes(i)) continue;
    const kept = ctx.kept ? items[i].raws?.[0] ?? undefined : undefined;
    const { keys, claim, servable, withAdded } = storedDependencies(
      items[i].keys,
      claims[i],
      priors[i],
      added[i],
    );
    toStore.push({
      keys,
      claim,
      encoded,
      negative,
      ttl: itemTtl,
      loadMs,
      etag: ctx.etag,
      added: withAdded,
      kept,
      servable,
    });
    storing.push(i);
  }
  const stored = await storeLoaded(cache, what, options, toStore, budget, near, since);
  storing.forEach((i, at) => {
    const result = results[i] as LoadResult;
    results[i] = { ...result, stored: stored[at] };
  });
  return { results, redo, added };
}

/** The batch loader's answer, with each missing key's context. */
export function load<R>(loader: ManyLoader<R>, missing: string[], contexts: readonly LoadContext[]) {
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
export function loadedOutput(
  value: unknown,
  schema: StandardSchemaV1 | undefined,
  what: string,
): Promise<unknown> {
  return schema && !isNegativeCacheResult(value)
    ? validateLoaded(schema, value, what)
    : Promise.resolve(value);
}

/**
 * The loader's answer (for `wanted`) as values in the order of `keys`; a missing value, or an array of the
 * wrong length, is an error naming the keys.
 */
export function valuesInOrder(
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
