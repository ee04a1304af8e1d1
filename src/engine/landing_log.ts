/**
 * Which keys' invalidations landed, in order, so that a read can tell whether one of its keys was invalidated
 * while it was out: a read issued before an invalidation landed and answered after it may hold the state from
 * before it. Each key's last landing is remembered, up to {@linkcode REMEMBERED_KEYS} keys; past that the older
 * half is forgotten, and a read that began before a forgotten landing counts every key as invalidated.
 *
 * @module
 */

/** Keys whose last landing is remembered. */
const REMEMBERED_KEYS = 4096;

/** The landings of one invalidation queue. */
export class LandingLog {
  /** Landings so far: a read takes it as its mark before it is issued. */
  count = 0;
  /** Key → the number of its latest landing, oldest first. */
  readonly #last = new Map<string, number>();
  /** The number of the latest namespace-wide landing, and of the latest one forgotten. */
  #whole = 0;
  #forgotten = 0;

  /** `true` when an invalidation of one of `keys` (or of the namespace) landed since `mark` was taken. */
  since(keys: readonly string[], mark: number): boolean {
    if (mark === this.count) return false;
    if (mark < this.#whole || mark < this.#forgotten) return true;
    for (const key of keys) if ((this.#last.get(key) ?? 0) > mark) return true;
    return false;
  }

  /** Records a landing of `keys` (`undefined`: the whole namespace). */
  land(keys: readonly string[] | undefined): void {
    const landing = ++this.count;
    if (keys === undefined) return void (this.#whole = landing);
    const last = this.#last;
    for (const key of keys) last.delete(key), last.set(key, landing); // kept in landing order
    if (last.size <= REMEMBERED_KEYS) return;
    for (const [key, at] of last) {
      if (last.size <= REMEMBERED_KEYS / 2) break;
      last.delete(key);
      this.#forgotten = at;
    }
  }
}
