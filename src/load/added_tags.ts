/**
 * Tags a loader adds once it has loaded (`ctx.addTags`), validated on later reads like declared ones.
 *
 * An entry names the keys whose versions it was stored under (`dependencies`): the declared ones, then the
 * added tags'. A read knows only the declared keys, so it validates an entry that depends on more by reading
 * those versions too (one more request, for such entries only: an entry without added tags is judged before
 * any of this runs).
 *
 * Why an added tag's version must be read before the load (the consistency rule: a read that starts after an
 * acknowledged invalidation never returns a value loaded before it): an invalidation deletes the tag's version,
 * and a version is only ever created afresh. A version read before the load and stored with the entry is gone
 * or different once an invalidation made during the load lands, so the entry is a miss. A version first read
 * after the load proves nothing: the invalidation may have deleted the old one while the load ran, and the
 * version read afterwards is a new one the old value would be stored under. So:
 * - a load reads (or creates) the versions of the tags the key's previous entry added, in its claim with the
 *   declared ones, before it runs the loader;
 * - an added tag that was not read so stores {@linkcode UNVERIFIED} as its version, which equals no version:
 *   that entry is never served, but it names the tag, so the next load reads its version first and stores an
 *   entry that is served (one more load the first time a key adds a tag, or adds a new one);
 * - callers who joined that load because they read the state it claimed get a second load's value instead: their
 *   read did not cover the tags it added (see `LoadRunner`).
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import type { Budget } from "../engine/deadline.ts";
import { decodeEntry, type Entry, hasAddedTags, sharedEntry } from "../entry/entry.ts";
import type { Claim, Flight } from "./flight.ts";
import type { LoadContext } from "./loader_context.ts";
import { compareVersions, type Validity } from "../entry/versions.ts";

/** The version an entry holds for an added tag whose version its load did not read first: equal to no version. */
export const UNVERIFIED = "";

/**
 * Tags a loader added that an entry naming them cannot vouch for keep the entry's hint at most this long: added
 * tags that change on every load cannot grow it without end.
 */
const HINT_MAX = 32;

const NONE: readonly string[] = Object.freeze([]);

/**
 * The keys of the tags `entry` was stored with past the declared `keys` (entry key, then the declared
 * dependencies); `undefined` when it has none, or depends on other declared keys (it is then invalid anyway).
 */
export function addedKeysOf(
  cache: CacheContext,
  entry: Entry,
  keys: readonly string[],
): readonly string[] | undefined {
  const deps = entry.dependencies, declared = keys.length - 1, root = cache.keys.root;
  if (!entry.added || deps.length <= declared || entry.versions.length !== deps.length) return undefined;
  for (let i = 0; i < declared; i++) {
    const key = keys[i + 1];
    if (key.length !== root.length + deps[i].length || !key.endsWith(deps[i])) return undefined;
  }
  return deps.slice(declared).map((dep) => root + dep);
}

/**
 * The added tags of the entry `observed[0]` (what the caller read at `keys[0]`), whose versions a load of the
 * key reads before it runs. Only a hint: a tag it leaves out makes the load's entry unservable, never wrong.
 * So an in-process store's decoding of what it holds now serves; an entry without added tags is not parsed.
 */
export function priorAddedKeys(
  cache: CacheContext,
  keys: readonly string[],
  observed: readonly (string | null)[] | undefined,
): readonly string[] {
  const raw = observed?.[0];
  if (!raw || !hasAddedTags(raw)) return NONE;
  const { store } = cache;
  const entry = store.peekDerived ? store.peekDerived(keys[0], undefined, sharedEntry) : decodeEntry(raw);
  return (entry && addedKeysOf(cache, entry, keys)) ?? NONE;
}

/**
 * The keys of the tags a load adds: `tags` (the loader's), and `kept` (the replaced entry's, when the loader kept
 * its value), without the declared `keys`.
 */
export async function addedKeysFor(
  cache: CacheContext,
  keys: readonly string[],
  tags: Iterable<string>,
  kept: readonly string[],
): Promise<readonly string[]> {
  const out = new Set<string>();
  for (const tag of tags) {
    const key = await cache.keys.tagKey(tag);
    if (!keys.includes(key, 1)) out.add(key);
  }
  for (const key of kept) out.add(key);
  return [...out];
}

/**
 * What a load's entry depends on past the declared keys, and the versions it stores for them: `claimed` holds
 * the versions of the declared keys then of `prior` (read before the load). `servable` is `false` when an
 * added tag's version was not read first; that entry's hint then also names the prior tags this load did not add
 * (so that loads whose added tags alternate come to read all of them first).
 */
export function addedDependencies(
  added: readonly string[],
  prior: readonly string[],
  claimed: readonly string[],
  declared: number,
): { keys: readonly string[]; versions: readonly string[]; servable: boolean } {
  const versionOf = (key: string) => {
    const at = prior.indexOf(key);
    return at < 0 ? UNVERIFIED : claimed[declared + at];
  };
  const servable = added.every((key) => prior.includes(key));
  const keys = servable
    ? added
    : [...added, ...prior.filter((key) => !added.includes(key))].slice(0, Math.max(added.length, HINT_MAX));
  return { keys, versions: keys.map(versionOf), servable };
}

/**
 * How the entry read at `keys[0]` (`raws[0]`, decoded as `entry`) compares with the current versions of the
 * keys it depends on, `raws[1..]`, and whether an invalidation of one is pending here (queued, or landed since
 * `mark`): what a read judges an entry by. An entry that fails on the declared keys alone and was stored with
 * tags its loader added depends on more: those versions are read too (one more request, for such entries only),
 * and their keys are `added`.
 */
export async function entryValidity(
  cache: CacheContext,
  entry: Entry | undefined,
  keys: readonly string[],
  raws: readonly (string | null)[],
  mark: number,
  budget: Budget | undefined,
): Promise<{ validity: Validity; pending: boolean; added?: readonly string[] }> {
  const validity = entry ? compareVersions(entry.versions, raws) : "invalid";
  const pending = cache.invalidation.isPending(keys, mark);
  const added = validity === "invalid" && entry ? addedKeysOf(cache, entry, keys) : undefined;
  if (!added) return { validity, pending };
  const more = await addedValidity(cache, entry!, keys, raws, added, mark, budget);
  return { validity: more.validity, pending: pending || more.pending, added };
}

/**
 * How `entry`'s versions compare with the current ones when it depends on the `added` tag keys past the
 * declared `keys`, whose current versions are `raws[1..]`: the added tags' versions are read now. `pending`:
 * an invalidation of an added tag is queued here or one landed since `mark`.
 */
async function addedValidity(
  cache: CacheContext,
  entry: Entry,
  keys: readonly string[],
  raws: readonly (string | null)[],
  added: readonly string[],
  mark: number,
  budget: Budget | undefined,
): Promise<{ validity: Validity; pending: boolean }> {
  const declared = keys.length - 1;
  // An unverified version equals none: no request needed to know the entry is a miss.
  if (entry.versions.includes(UNVERIFIED)) return { validity: "invalid", pending: false };
  const first = compareVersions(entry.versions.slice(0, declared), raws);
  if (first === "invalid") return { validity: first, pending: false };
  let current: (string | null)[];
  try {
    current = await cache.guarded.run("read", (signal) => cache.store.getMany(added, { signal }), budget);
  } catch {
    // Reported by run(). Tags that cannot be read cannot vouch for the entry: a miss, which the loader answers.
    return { validity: "invalid", pending: false };
  }
  const rest = compareVersions(entry.versions.slice(declared), current, 0);
  return {
    validity: rest === "invalid" ? rest : first === "soft" ? first : rest,
    pending: cache.invalidation.isPending(added, mark),
  };
}

const NO_KEYS: readonly string[] = Object.freeze([]);

/**
 * The keys of the tags a settled load's entry depends on beyond its declared `keys`: those its loader added, and
 * (when it kept the replaced entry's value, `notModified()`) those that entry had (`prior`).
 */
export function loadAddedKeys(
  cache: CacheContext,
  keys: readonly string[],
  ctx: LoadContext,
  prior: readonly string[],
): Promise<readonly string[]> | readonly string[] {
  return ctx.addedTags || (ctx.kept && prior.length > 0)
    ? addedKeysFor(cache, keys, ctx.addedTags ?? [], ctx.kept ? prior : [])
    : NO_KEYS;
}

/**
 * `true` when a load added a tag its claim had not read (`added` beyond `prior`) and callers joined it because
 * they read the state it claimed: their reads did not cover that tag, so the value is not for them, and the key
 * is loaded once more, that tag read first. Later joins by state are refused from now on.
 */
export function mustLoadAgain(added: readonly string[], prior: readonly string[], flight: Flight): boolean {
  return added.some((key) => !prior.includes(key)) && flight.closeStateJoins();
}

/**
 * What a load's entry is stored under: the declared `keys` and `claimed` versions, then (when its loader added
 * tags, or the replaced entry had some) the added tags' keys and versions (see {@linkcode addedDependencies}).
 * `servable` is `false` when an added tag's version was not read before the load; `withAdded` when the entry
 * depends on added tags.
 */
export function storedDependencies(
  keys: readonly string[],
  claimed: Claim,
  prior: readonly string[],
  added: readonly string[],
): { keys: readonly string[]; claim: Claim; servable: boolean; withAdded: boolean } {
  if (prior.length === 0 && added.length === 0) {
    return { keys, claim: claimed, servable: true, withAdded: false };
  }
  const declared = keys.length - 1;
  const versions = claimed.versions ?? [];
  const more = addedDependencies(added, prior, versions, declared);
  return {
    keys: more.keys.length > 0 ? [...keys, ...more.keys] : keys,
    // Without versions the claim vouches for nothing, and nothing is stored (see `entryWrite`).
    claim: {
      guard: claimed.guard,
      versions: claimed.versions && [...versions.slice(0, declared), ...more.versions],
    },
    servable: more.servable,
    withAdded: more.keys.length > 0,
  };
}
