/**
 * Random tokens: tag versions, entry write tokens, loading markers and lock owners. 64 random bits in hex, so
 * a token is never reused in practice; that is what makes "the same token" mean "nothing changed".
 *
 * @module
 */

/** A fresh random 16-hex-digit token. */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
