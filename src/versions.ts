/**
 * Versions of the keys an entry depends on (its tags, the namespace generation). A version is created once,
 * with a fresh token (`ifAbsent`); a hard invalidation deletes it, so the next one is unrelated. A soft
 * invalidation appends a revision (`token~revision`): entries stored under the same token with another
 * revision are stale, not misses.
 *
 * @module
 */

import { randomToken } from "./token.ts";

const REVISION = "~";

/** How an entry's stored versions compare with the current ones. */
export type Validity = "valid" | "soft" | "invalid";

/** `true` when an entry's stored versions are exactly the ones read after it (`raws[1..]`). */
export function versionsMatch(stored: readonly string[], raws: readonly (string | null)[]): boolean {
  return sameVersions(stored, raws, 1);
}

/** `true` when an entry's stored versions are exactly `current` from `from` on (read without the entry: 0). */
export function sameVersions(
  stored: readonly string[],
  current: readonly (string | null)[],
  from = 0,
): boolean {
  if (stored.length !== current.length - from) return false;
  for (let i = 0; i < stored.length; i++) if (stored[i] !== current[i + from]) return false;
  return true;
}

/** Like {@linkcode versionsMatch}, telling a soft invalidation (same token, another revision) apart. */
export function compareVersions(stored: readonly string[], raws: readonly (string | null)[]): Validity {
  if (stored.length !== raws.length - 1) return "invalid";
  let soft = false;
  for (let i = 0; i < stored.length; i++) {
    const current = raws[i + 1];
    if (stored[i] === current) continue;
    if (current === null || tokenOf(stored[i]) !== tokenOf(current)) return "invalid";
    soft = true;
  }
  return soft ? "soft" : "valid";
}

/** The token a version was created with (what a conditional soft revision requires). */
export function tokenOf(version: string): string {
  const at = version.indexOf(REVISION);
  return at < 0 ? version : version.slice(0, at);
}

/** A new revision of `version`: entries stored under it become stale. */
export function revised(version: string): string {
  return tokenOf(version) + REVISION + randomToken();
}
