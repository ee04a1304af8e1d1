/**
 * When keys (entries, tag versions) were last invalidated in this process, so that L1 refuses entries
 * vouched for before that, including those a read issued earlier is still bringing back. Only the last
 * `maxStaleMs` matter (anything validated before is due again anyway), so older records are dropped; past
 * `maxKeys` records the log collapses into one moment before which everything is suspect.
 *
 * @module
 */

/** Recent invalidations of one L1. */
export class InvalidationLog {
  readonly #windowMs: number;
  readonly #maxKeys: number;
  /** Key → when it was invalidated, oldest first (re-recording moves a key to the end). */
  readonly #at = new Map<string, number>();
  /** Everything validated before this is suspect (the log overflowed at that moment). */
  #watermark = -Infinity;

  constructor(windowMs: number, maxKeys: number) {
    this.#windowMs = windowMs;
    this.#maxKeys = maxKeys;
  }

  /** Records that `keys` were invalidated at `now`. */
  record(keys: readonly string[], now: number): void {
    for (const key of keys) {
      this.#at.delete(key);
      this.#at.set(key, now);
    }
    for (const [key, at] of this.#at) {
      if (at > now - this.#windowMs) break;
      this.#at.delete(key);
    }
    if (this.#at.size > this.#maxKeys) {
      this.#watermark = now;
      this.#at.clear();
    }
  }

  /** `true` when one of `keys` was invalidated at or after `validatedAt` (ties count: clocks are coarse). */
  since(keys: readonly string[], validatedAt: number): boolean {
    if (validatedAt <= this.#watermark) return true;
    if (this.#at.size === 0) return false;
    for (const key of keys) {
      const at = this.#at.get(key);
      if (at !== undefined && at >= validatedAt) return true;
    }
    return false;
  }
}
