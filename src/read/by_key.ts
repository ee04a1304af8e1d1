/**
 * Reading entries by their keys alone (`get`, `has`, `getMany`): an entry names the keys whose versions it was
 * stored under, so it is validated without knowing its tags. One read for the entries, one for their versions.
 * With L1, an entry held there is served by it (it knows the entry's keys), and what the store vouches for is
 * kept. A call's store requests, and the L1 validations it waits for, share one deadline.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import { Budget } from "../engine/deadline.ts";
import { decodeEntry, type Entry, isLoadingMarker, sharedEntry } from "../entry/entry.ts";
import { NOTHING, readValue } from "../entry/value.ts";
import { compareVersions } from "../entry/versions.ts";
import { isFresh } from "../entry/verdict.ts";
import { Due, type NearTier, Peeked } from "../tier/near_tier.ts";

/** A value read by its key, and whether L1 served it. */
export interface Stored {
  readonly value: unknown;
  readonly fromL1: boolean;
}

/** `get`: the value {@linkcode readStored} finds, counted as a hit or a miss and reported as an event. */
export async function getStored(cache: CacheContext, key: string): Promise<unknown> {
  const started = cache.diagnostics.observed ? performance.now() : 0;
  const found = await readStored(cache, key);
  cache.metrics.count(found ? "cache.hit" : "cache.miss", "get");
  if (found?.fromL1) cache.metrics.count("cache.l1.hit", "get");
  if (cache.diagnostics.observed) {
    const durationMs = performance.now() - started;
    const tier = found ? (found.fromL1 ? "l1" : "l2") : undefined;
    cache.diagnostics.emit({ type: found ? "hit" : "miss", key, function: "get", tier, durationMs });
  }
  return found?.value;
}

/** The fresh, valid value at a logical key, or `undefined` (also when the store cannot be reached). */
export async function readStored(cache: CacheContext, key: string): Promise<Stored | undefined> {
  try {
    const entryKey = await cache.keys.entryKey(key);
    const { near } = cache;
    const since = near.dated ? cache.settings.clock.now() : 0;
    const held = findHeld(near, entryKey, since);
    if (held !== undefined && !(held instanceof Due)) {
      const found = servedNear(cache, held);
      if (found) return found;
    }
    const budget = budgetOf(cache);
    if (held instanceof Due) {
      const started = performance.now();
      const found = await validated(cache, held);
      budget?.spend(performance.now() - started);
      if (found) return found;
    }
    const { store } = cache;
    const mark = cache.invalidation.mark;
    let raw: string | null = null, entry: Entry | undefined;
    if (store.peekDerived) entry = store.peekDerived(entryKey, undefined, sharedEntry) ?? undefined;
    else {
      [raw] = await cache.guarded.run("read", (signal) => store.getMany([entryKey], { signal }), budget);
      entry = decoded(raw);
    }
    const now = cache.settings.clock.now();
    const keys = entry && candidate(cache, entryKey, entry, mark, now);
    if (!keys) return undefined;
    const versions = keys.length > 1
      ? await cache.guarded.run("read", (signal) => store.getMany(keys.slice(1), { signal }), budget)
      : [];
    return settled(cache, entry!, keys, now, raw, versions, 0, since);
  } catch {
    return undefined; // reported by run(): an unreachable store reads as a miss
  }
}

/**
 * What {@linkcode readStored} gives for each of `keys`, in their order, with one request for the entries L1
 * does not serve and one for their versions.
 */
export async function readStoredMany(
  cache: CacheContext,
  keys: readonly string[],
): Promise<(Stored | undefined)[]> {
  const found: (Stored | undefined)[] = keys.map(() => undefined);
  try {
    const entryKeys = await Promise.all(keys.map((key) => cache.keys.entryKey(key)));
    const { near } = cache;
    const since = near.dated ? cache.settings.clock.now() : 0;
    const budget = budgetOf(cache);
    const due: Promise<unknown>[] = [];
    entryKeys.forEach((entryKey, i) => {
      const held = findHeld(near, entryKey, since);
      if (held instanceof Due) due.push(validated(cache, held).then((stored) => found[i] = stored));
      else if (held !== undefined) found[i] = servedNear(cache, held);
    });
    if (due.length > 0) {
      const started = performance.now();
      await Promise.all(due);
      budget?.spend(performance.now() - started);
    }
    const rest: number[] = [];
    for (let i = 0; i < keys.length; i++) if (found[i] === undefined) rest.push(i);
    if (rest.length > 0) await fromStore(cache, entryKeys, rest, found, since, budget);
  } catch { /* reported by run(): what the store could not answer reads as a miss */ }
  return found;
}

/** One deadline for a call's requests to a remote store (an in-process one has none). */
function budgetOf(cache: CacheContext): Budget | undefined {
  return cache.store.capabilities.inProcess ? undefined : new Budget(cache.settings.deadlineMs);
}

/**
 * What the near tier holds apart from the store at `entryKey` (an entry to serve, or one being validated); an
 * in-process store's own peek holds nothing apart, so its entries are read below like any store's.
 */
function findHeld(near: NearTier, entryKey: string, since: number): Entry | Due | undefined {
  const keys = near.keysOf(entryKey, since);
  const found = keys && near.find(keys, since);
  return found instanceof Peeked ? undefined : found;
}

function servedNear(cache: CacheContext, entry: Entry): Stored | undefined {
  const value = readValue(entry, cache.codec);
  return value === NOTHING ? undefined : { value, fromL1: true };
}

async function validated(cache: CacheContext, due: Due): Promise<Stored | undefined> {
  const entry = await due.validation;
  return entry && entry !== "unavailable" ? servedNear(cache, entry) : undefined;
}

/** A candidate read from the store, waiting for its versions. */
interface Candidate {
  readonly at: number;
  readonly entry: Entry;
  readonly raw: string | null;
  /** The entry key, then its dependencies' keys. */
  readonly keys: readonly string[];
}

function decoded(raw: string | null): Entry | undefined {
  return raw === null || isLoadingMarker(raw) ? undefined : decodeEntry(raw);
}

/**
 * The first half of the verdict, before the versions are read (a miss whatever they are needs no request):
 * the keys whose versions decide (the entry key, then its dependencies) when the entry is fresh and no
 * invalidation of them is pending here (checked before the versions are read: a queued delete that lands
 * during that read is in what it returns).
 */
function candidate(
  cache: CacheContext,
  entryKey: string,
  entry: Entry,
  mark: number,
  now: number,
): string[] | undefined {
  const { dependencies } = entry;
  const keys = new Array<string>(dependencies.length + 1);
  keys[0] = entryKey;
  for (let i = 0; i < dependencies.length; i++) keys[i + 1] = cache.keys.root + dependencies[i];
  // `get` promises a fresh value (no grace). Its versions are judged in the second half.
  return isFresh(entry, true, cache.invalidation.isPending(keys, mark), now) ? keys : undefined;
}

/**
 * The second half, with the versions read (`versions[from]` on, in the order of its dependencies). A store's
 * entry that passes is kept in L1, dated by the read's start.
 */
function settled(
  cache: CacheContext,
  entry: Entry,
  keys: readonly string[],
  now: number,
  raw: string | null,
  versions: readonly (string | null)[],
  from: number,
  since: number,
): Stored | undefined {
  // The pending check was made in the first half (see there).
  if (!isFresh(entry, compareVersions(entry.versions, versions, from) === "valid", false, now)) {
    return undefined;
  }
  const value = readValue(entry, cache.codec);
  if (value === NOTHING) return undefined;
  if (raw !== null) cache.near.keep(keys, raw, since);
  return { value, fromL1: false };
}

/**
 * The verdict on the entries at `entryKeys[i]` for each `i` of `at`, written to `found[i]`, with one read
 * for the entries and one for every version they depend on (each shared one once).
 */
async function fromStore(
  cache: CacheContext,
  entryKeys: readonly string[],
  at: readonly number[],
  found: (Stored | undefined)[],
  since: number,
  budget: Budget | undefined,
): Promise<void> {
  const { store } = cache;
  const mark = cache.invalidation.mark;
  let raws: (string | null)[] | undefined;
  if (!store.peekDerived) {
    const wanted = at.map((i) => entryKeys[i]);
    raws = await cache.guarded.run("read", (signal) => store.getMany(wanted, { signal }), budget);
  }
  const now = cache.settings.clock.now(); // one moment for the batch's verdicts
  const candidates: Candidate[] = [];
  const index = new Map<string, number>();
  at.forEach((i, j) => {
    const raw = raws ? raws[j] : null;
    const entry = raws ? decoded(raw) : store.peekDerived!(entryKeys[i], undefined, sharedEntry) ?? undefined;
    const keys = entry && candidate(cache, entryKeys[i], entry, mark, now);
    if (!keys) return;
    for (let k = 1; k < keys.length; k++) if (!index.has(keys[k])) index.set(keys[k], index.size);
    candidates.push({ at: i, entry: entry!, raw, keys });
  });
  if (candidates.length === 0) return;
  const wanted = [...index.keys()];
  const versions = wanted.length > 0
    ? await cache.guarded.run("read", (signal) => store.getMany(wanted, { signal }), budget)
    : [];
  for (const { at, entry, raw, keys } of candidates) {
    const current = keys.map((key, k) => k === 0 ? null : versions[index.get(key)!]);
    found[at] = settled(cache, entry, keys, now, raw, current, 1, since);
  }
}
