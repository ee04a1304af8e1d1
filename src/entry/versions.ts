/**
 * Versions of the keys an entry depends on (its tags, the namespace generation). A version is created once,
 * with a fresh token (`ifAbsent`); a hard invalidation deletes it, so the next one is unrelated. A soft
 * invalidation appends a revision (`token~revision`): entries stored under the same token with another
 * revision are stale, not misses.
 *
 * @module
 */

const REVISION = "~";

/** How an entry's stored versions compare with the current ones. */
export type Validity = "valid" | "soft" | "invalid";

/**
 * How an entry's stored versions compare with `current` from `from` on (read after the entry: 1; read without
 * it: 0): equal, revised (a soft invalidation: same token, another revision), or gone or created anew.
 */
export function compareVersions(
  stored: readonly string[],
  current: readonly (string | null)[],
  from = 1,
): Validity {
  if (stored.length !== current.length - from) return "invalid";
  let soft = false;
  for (let i = 0; i < stored.length; i++) {
    const held = current[i + from];
    if (stored[i] === held) continue;
    if (held === null || tokenOf(stored[i]) !== tokenOf(held)) return "invalid";
    soft = true;
  }
  return soft ? "soft" : "valid";
}

/** The token a version was created with (what a conditional soft revision requires). */
export function tokenOf(version: string): string {
  const at = version.indexOf(REVISION);
  return at < 0 ? version : version.slice(0, at);
}

/** A new revision of `version`, `token` fresh: entries stored under it become stale. */
export function revised(version: string, token: string): string {
  return tokenOf(version) + REVISION + token;
}
