/**
 * Counters computed from what really happened. The seed's counters are always kept; detailed mode adds
 * per-function counters and latencies, labelled `name{fn="getUser"}`.
 *
 * @module
 */

/** A snapshot: counter name → value. Averages (`*.ms`) are in milliseconds. */
export type Metrics = Record<string, number>;

/** Counters present from the start, as 0. */
const BASE = [
  "cache.hit",
  "cache.miss",
  "cache.stale",
  "cache.negative",
  "cache.skip",
  "cache.refresh",
  "cache.refresh.error",
  "cache.lock.wait",
  "cache.lock.timeout",
  "cache.load",
  "cache.invalidate.count",
  "cache.invalidate.pending",
  "cache.invalidate.escalated",
  "cache.write.superseded",
  "cache.warm.count",
  "cache.error",
  "cache.breaker.open",
] as const;

/** Names of counters; the two-level cache's appear once it counts them. */
export type Counter =
  | typeof BASE[number]
  | "cache.l1.hit"
  | "cache.l1.stale"
  | "cache.l1.validate"
  | "cache.l1.push"
  | "cache.l1.push.unavailable";

/** Mutable metrics registry of one cache. */
export class MetricsRegistry {
  // A plain object: counting a hit is one property update, cheaper than a Map's get and set.
  #counts: Record<string, number> = {};
  #sums = new Map<string, { total: number; count: number }>();
  /** When true, counters are also kept per function. */
  detailed = false;

  constructor() {
    this.reset();
  }

  /** Adds `by` to a counter, and to its per-function twin in detailed mode. */
  count(name: Counter, fn?: string, by = 1): void {
    this.#counts[name] = (this.#counts[name] ?? 0) + by;
    if (this.detailed && fn !== undefined) {
      const labelled = `${name}{fn="${fn}"}`;
      this.#counts[labelled] = (this.#counts[labelled] ?? 0) + by;
    }
  }

  /** Sets a gauge, e.g. the number of pending invalidations. */
  gauge(name: Counter, value: number): void {
    this.#counts[name] = value;
  }

  /** Records a duration; the snapshot reports its average under `name`. */
  time(name: string, ms: number, fn?: string): void {
    this.#add(name, ms);
    if (this.detailed && fn !== undefined) this.#add(`${name}{fn="${fn}"}`, ms);
  }

  #add(name: string, ms: number) {
    const sum = this.#sums.get(name);
    if (sum) sum.total += ms, sum.count++;
    else this.#sums.set(name, { total: ms, count: 1 });
  }

  /** A copy of every counter, plus averages of durations. */
  snapshot(): Metrics {
    const out: Metrics = { "cache.warm.ms": 0 };
    for (const [name, value] of Object.entries(this.#counts)) out[name] = value;
    for (const [name, { total, count }] of this.#sums) out[name] = count ? total / count : 0;
    return out;
  }

  /** Zeroes every counter (gauges keep their current value). */
  reset(): void {
    const pending = this.#counts["cache.invalidate.pending"] ?? 0;
    this.#counts = {};
    this.#sums.clear();
    for (const name of BASE) this.#counts[name] = 0;
    this.#counts["cache.invalidate.pending"] = pending;
  }
}
