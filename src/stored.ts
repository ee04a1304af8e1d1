/**
 * Reading entries by their keys alone (`get`, `has`, `getMany`): an entry names the keys whose versions it was
 * stored under, so it is validated without knowing its tags. One read for the entries, one for their versions.
 * With L1, an entry held there is served by it (it knows the entry's keys), and what the store vouches for is
 * kept.
 *
 * @module
 */

import type { CacheContext } from "./context.ts";
import { Budget } from "./deadline.ts";
import { decodeEntry, type Entry, isLoadingMarker, sharedEntry } from "./entry.ts";
import { NOTHING, readValue } from "./entry_value.ts";
import { sameVersions } from "./versions.ts";

/** A value read by its key, and whether L1 served it. */
export interface Stored {
  readonly value: unknown;
  readonly fromL1: boolean;
}

/** The fresh, valid value at a logical key, or `undefined` (also when the store cannot be reached). */
export async function readStored(cache: CacheContext, key: string): Promise<Stored | undefined> {
  return (await readStoredMany(cache, [key]))[0];
}

/** A candidate read from the store, waiting for its versions. */
interface Candidate {
  readonly at: number;
  readonly entry: Entry;
  readonly raw: string | null;
  /** The entry key, then its dependencies' keys. */
  readonly keys: readonly string[];
}

/**
 * What {@linkcode readStored} gives for each of `keys`, in their order, with one request for the entries L1
 * does not serve and one for their versions. The call's store time is one deadline, shared by those requests
 * and the L1 validations it waits for.
 */
export async function readStoredMany(
  cache: CacheContext,
  keys: readonly string[],
): Promise<(Stored | undefined)[]> {
  const found: (Stored | undefined)[] = keys.map(() => undefined);
  try {
    const { l1, store } = cache;
    const { clock } = cache.settings;
    const remote = !store.capabilities.inProcess;
    const budget = remote ? new Budget(cache.settings.deadlineMs) : undefined;
    const started = remote ? performance.now() : 0;
    const entryKeys = await Promise.all(keys.map((key) => cache.entryKey(key)));
    const since = l1 ? clock.now() : 0;
    if (l1) {
      await Promise.all(entryKeys.map(async (entryKey, i) => {
        const held = l1.keysOf(entryKey, since);
        const near = held && await l1.entry(held, since);
        const value = near ? readValue(near, cache.codec) : NOTHING;
        if (value !== NOTHING) found[i] = { value, fromL1: true };
      }));
      budget?.spend(performance.now() - started); // waiting for validations is the call's store time too
    }
    const rest: number[] = [];
    for (let i = 0; i < keys.length; i++) if (found[i] === undefined) rest.push(i);
    if (rest.length === 0) return found;
    const mark = cache.invalidationMark;
    let raws: (string | null)[] | undefined;
    if (!store.peekDerived) {
      const wanted = rest.map((i) => entryKeys[i]);
      raws = await cache.run("read", (signal) => store.getMany(wanted, { signal }), budget);
    }
    const now = clock.now();
    const candidates: Candidate[] = [];
    const dependencies = new Map<string, number>();
    rest.forEach((at, j) => {
      const raw = raws ? raws[j] : null;
      // An in-process store keeps the decoded entry (the one hits use): no parse, and no text made again.
      const entry = raws
        ? raw === null || isLoadingMarker(raw) ? undefined : decodeEntry(raw)
        : store.peekDerived!(entryKeys[at], undefined, sharedEntry) ?? undefined;
      if (!entry || now >= entry.freshUntil) return;
      const held = [entryKeys[at]];
      for (const d of entry.dependencies) held.push(cache.namespace + d);
      // Before the versions are read: a queued delete of one that lands during that read is in what it returns.
      if (cache.hasPendingInvalidation(held, mark)) return;
      for (let k = 1; k < held.length; k++) {
        if (!dependencies.has(held[k])) dependencies.set(held[k], dependencies.size);
      }
      candidates.push({ at, entry, raw, keys: held });
    });
    if (candidates.length === 0) return found;
    const wanted = [...dependencies.keys()];
    const versions = wanted.length > 0
      ? await cache.run("read", (signal) => store.getMany(wanted, { signal }), budget)
      : [];
    for (const { at, entry, raw, keys: held } of candidates) {
      const current = held.slice(1).map((key) => versions[dependencies.get(key)!]);
      if (!sameVersions(entry.versions, current)) continue;
      const value = readValue(entry, cache.codec);
      if (value === NOTHING) continue;
      if (raw !== null) l1?.keep(held, raw, since);
      found[at] = { value, fromL1: false };
    }
    return found;
  } catch {
    return found; // reported by run(): what the store could not answer reads as a miss
  }
}
