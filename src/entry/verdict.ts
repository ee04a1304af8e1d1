/**
 * The rule that decides a read: may an entry found in a tier be served, and how. Every read path asks this
 * one function (a cached function's memory-tier peek and its store lookup, `get`/`has`/`getMany`,
 * `getOrSetMany`, lock waiters, L1's hits, grace and validations); the paths differ only in what they read and
 * in how much they accept (`grace`), never in the rule.
 *
 * An entry read with the current versions of the keys it depends on (its tags, the namespace generation) is
 * the first of these that applies:
 * - `corrupt` when it did not decode;
 * - `invalidated` when an invalidation of one of its keys is queued here, or a queued one landed while it was
 *   read (the pending mark), or a version it was stored under is gone or was created anew;
 * - softly invalidated when a version was revised (same token, another revision): `stale` for a reader with
 *   grace while the entry's grace window (`staleTtl`) lasts and no refresh of it runs (later callers join that
 *   refresh instead), else `invalidated_soft`;
 * - `fresh` before its `freshUntil`;
 * - `stale` after that until its `staleUntil` for a reader with grace, else `expired`.
 *
 * Who has grace: a cached function's lookup (stale-while-revalidate, stale-if-error), and L1 when the store
 * cannot vouch for an entry past L1's bound (judged as softly invalidated: served within its grace only).
 * Everyone else serves fresh entries only: `get` promises a fresh value, `getOrSetMany` has no refresh to
 * run, and a lock waiter settles a load that callers joined to get a fresh value. L1 adds its bound on top.
 * The hottest paths that serve nothing but fresh entries (the memory-tier peek, L1's hits, `get`) ask
 * {@linkcode isFresh}: the same rule's fresh case, with no verdict to compare afterwards.
 *
 * @module
 */

import type { EntryMeta } from "./entry.ts";
import type { Validity } from "./versions.ts";

/** What a read may do with an entry: serve it (`fresh`, `stale`), or treat it as a miss, and why. */
export type Verdict = "fresh" | "stale" | "expired" | "invalidated" | "invalidated_soft" | "corrupt";

/**
 * The verdict on `entry` (`undefined`: it did not decode) at `now`. `versions`: how its versions compare with
 * the current ones; `pending`: an invalidation of its keys is queued here or landed since the read's mark;
 * `grace`: the reader may serve it stale; `refreshing`: a refresh of it runs in this process.
 */
export function verdict(
  entry: EntryMeta | undefined,
  versions: Validity,
  pending: boolean,
  now: number,
  grace: boolean,
  refreshing: boolean,
): Verdict {
  if (isFresh(entry, versions === "valid", pending, now)) return "fresh";
  if (entry === undefined) return "corrupt";
  if (pending || versions === "invalid") return "invalidated";
  if (versions === "soft") {
    return grace && !refreshing && entry.staleUntil > entry.freshUntil && now < entry.staleUntil
      ? "stale"
      : "invalidated_soft";
  }
  return grace && now < entry.staleUntil ? "stale" : "expired";
}

/**
 * `true` exactly when {@linkcode verdict} says `"fresh"` (`valid`: the entry's versions are exactly the current
 * ones); the verdict starts with it.
 */
export function isFresh(
  entry: EntryMeta | undefined,
  valid: boolean,
  pending: boolean,
  now: number,
): boolean {
  return entry !== undefined && valid && !pending && now < entry.freshUntil;
}
