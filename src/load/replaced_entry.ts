/**
 * The entry a load replaces, offered to its loader as `ctx.stale` (for conditional refreshes and
 * `ctx.notModified()`): the entry its caller read, or else the one its claim found, while it is still valid
 * (expired or softly invalidated, never hard-invalidated: its value must not come back).
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import { decodeEntry, isLoadingMarker } from "../entry/entry.ts";
import { NOTHING, readValue } from "../entry/value.ts";
import type { Claim } from "./flight.ts";
import type { StaleEntry } from "./loader_context.ts";
import { compareVersions } from "../entry/versions.ts";
import { addedKeysOf } from "./added_tags.ts";

/**
 * The entry `observed` (entry, then versions) held at `keys[0]`, offered to the loader as `ctx.stale` while it is
 * still valid: expired or softly invalidated, never hard-invalidated (its value must not come back).
 */
export function replacedEntry(
  cache: CacheContext,
  keys: readonly string[],
  observed: readonly (string | null)[] | undefined,
  prior: readonly string[],
  claimed: Claim,
): StaleEntry | undefined {
  // A load whose caller read nothing (a refresh after a near-tier hit, a forced load) offers what its claim
  // found, read before the load like a caller's read.
  const state = observed ??
    (claimed.found !== undefined && claimed.versions && [claimed.found, ...claimed.versions]);
  const raw = state ? state[0] : undefined;
  if (!raw || isLoadingMarker(raw) || cache.invalidation.isPending(keys)) return undefined;
  const entry = decodeEntry(raw);
  if (!entry) return undefined;
  // With added tags (`prior`, this entry's), their versions are those the claim read before the load.
  const current = prior.length === 0
    ? state as readonly (string | null)[]
    : claimed.versions && !cache.invalidation.isPending(prior) &&
        sameKeys(addedKeysOf(cache, entry, keys), prior)
    ? [raw, ...claimed.versions]
    : undefined;
  if (!current || compareVersions(entry.versions, current) === "invalid") return undefined;
  const value = readValue(entry, cache.codec);
  return value === NOTHING ? undefined : { value, storedAt: entry.createdAt, etag: entry.etag };
}

function sameKeys(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((key, i) => key === b[i]);
}
