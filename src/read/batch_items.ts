/**
 * The items of a batch read (`getOrSetMany`): one per distinct key with its store keys, what the near tier or
 * one store read (every item's keys together, shared keys once) found for it, and its value as the rule every
 * read uses judges it (`entry/verdict.ts`): fresh, a miss, or an unreadable entry to delete first.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import type { Budget } from "../engine/deadline.ts";
import { decodeEntry, type Entry, isLoadingMarker } from "../entry/entry.ts";
import { NOTHING, readValue } from "../entry/value.ts";
import type { Flight } from "../load/flight.ts";
import { isNegativeCacheResult } from "../entry/negative.ts";
import { compareVersions, type Validity } from "../entry/versions.ts";
import { entryValidity } from "../load/added_tags.ts";
import { verdict } from "../entry/verdict.ts";
import { isName, isNameList } from "../keys/name.ts";
import { type StandardSchemaV1, validStored } from "./schema.ts";
import { Due, type NearTier, Peeked, type Validated } from "../tier/near_tier.ts";

/** One distinct key of the batch and what the read found for it. */
export interface Item {
  readonly key: string;
  readonly keys: readonly string[];
  raws?: (string | null)[];
  value?: unknown;
  /** Served by the near tier (L1, or an in-process store's peek), not read from the store. */
  near?: boolean;
  /** What the read found: a value, a miss (`NOTHING`), or an entry it could not use (`CORRUPT`). */
  found?: unknown;
  /** Found `CORRUPT`: its load's claim reports it (and deletes it when no write could replace it). */
  unusable?: boolean;
  flight?: Flight;
  joined?: boolean;
  /** The keys of tags the found entry's loader added, read to validate it. */
  added?: readonly string[];
}

/**
 * Checks a found value against the schema: one that fails is a miss (see {@linkcode validStored}), also when L1
 * held it; one that passes is the schema's output.
 */
export async function checkFound(cache: CacheContext, item: Item, schema: StandardSchemaV1, what: string) {
  const found = item.found;
  if (found === NOTHING || found === CORRUPT || isNegativeCacheResult(found)) return;
  item.found = await validStored(cache, schema, found, what, item.key);
  if (item.near) {
    if (item.found === NOTHING) item.near = false;
    else item.value = item.found;
  }
}

export function itemFor(
  cache: CacheContext,
  key: unknown,
  tags: readonly string[] | ((key: string) => readonly string[]) | undefined,
  what: string,
): Item | Promise<Item> {
  if (!isName(key)) {
    throw new TypeError(
      `Cannot cache ${what}: keys must be non-empty, well-formed strings, current value is ${
        JSON.stringify(key)
      }`,
    );
  }
  const names = typeof tags === "function" ? tags(key) : tags ?? [];
  if (!isNameList(names)) {
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
export function nearValue(
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
export async function readAll(cache: CacheContext, items: Item[], budget: Budget): Promise<void> {
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
export const CORRUPT: unique symbol = Symbol("corrupt");

/**
 * The value of the fresh entry read in `raws` (entry, then versions), `NOTHING` (a miss), or `CORRUPT` (a
 * miss whose entry must go first).
 */
export function validValue(
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
