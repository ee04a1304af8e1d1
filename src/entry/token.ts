/**
 * Tokens: tag versions, entry write tokens, loading markers and lock owners. A token only has to differ from
 * every other token written to the same store, since "the same token" must mean "nothing changed". Every token
 * has the same length: conditional writes compare prefixes (a marker `~1` must not guard `~12`).
 *
 * @module
 */

import type { CacheStore } from "../store/store.ts";

/** Hex digits in a token: 64 bits. */
const TOKEN_DIGITS = 16;

/** A fresh random 16-hex-digit token: never reused in practice, by any process. */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/**
 * A token for a write to `store`: the store's own ({@linkcode CacheStore.uniqueToken}, a counter in memory) when
 * it has one, otherwise a random one (other processes write to the store too).
 */
export function tokenFor(store: CacheStore): string {
  return store.uniqueToken?.() ?? randomToken();
}

/**
 * Counter tokens for a store whose every write goes through one object in this process: the next number, in
 * as many hex digits as a random token. Unique among that store's writes by construction (no draw to collide),
 * whichever cache instance or copy of this module writes; at a million writes a second it runs for 500 years.
 */
export function counterTokens(): () => string {
  let count = 0;
  return () => (++count).toString(16).padStart(TOKEN_DIGITS, "0");
}
