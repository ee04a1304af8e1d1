/**
 * L1's entries in the order they were last validated, so that when one entry turns out to be due, the oldest
 * others can be revalidated in the same request: after a pause longer than the bound, a caller reading many
 * entries in turn then waits for one request per batch of them, not one per entry. Records of entries
 * validated again (or gone) are skipped when reached; the queue is compacted when it holds more than twice
 * the entries L1 may keep.
 *
 * @module
 */

/** One validation of one entry: what L1 derived from the value (its kept state), and as of when. */
interface Dated<T> {
  readonly key: string;
  readonly kept: T;
  readonly validatedAt: number;
}

/** Whether a record still dates its entry: the same kept state, still held, not validated since. */
export type IsCurrent<T> = (key: string, kept: T, validatedAt: number) => boolean;

/** Kept entries, oldest-validated first. */
export class AgingQueue<T> {
  readonly #maxEntries: number;
  readonly #isCurrent: IsCurrent<T>;
  #records: Dated<T>[] = [];
  #head = 0;

  constructor(maxEntries: number, isCurrent: IsCurrent<T>) {
    this.#maxEntries = maxEntries;
    this.#isCurrent = isCurrent;
  }

  /** Records that the entry at `key` (kept as `kept`) was validated as of `validatedAt`. */
  push(key: string, kept: T, validatedAt: number): void {
    this.#records.push({ key, kept, validatedAt });
    if (this.#records.length - this.#head > 2 * this.#maxEntries) {
      this.#records = this.#records.slice(this.#head).filter((r) =>
        this.#isCurrent(r.key, r.kept, r.validatedAt)
      );
      this.#head = 0;
    }
  }

  /** Takes up to `limit` entries whose current record is older than `before`, oldest first. */
  takeOlder(before: number, limit: number): { key: string; kept: T }[] {
    const taken: { key: string; kept: T }[] = [];
    while (this.#head < this.#records.length && taken.length < limit) {
      const record = this.#records[this.#head];
      if (record.validatedAt >= before) break;
      this.#head++;
      if (this.#isCurrent(record.key, record.kept, record.validatedAt)) taken.push(record);
    }
    if (this.#head * 2 > this.#records.length) {
      this.#records = this.#records.slice(this.#head); // drop what was taken
      this.#head = 0;
    }
    return taken;
  }
}
