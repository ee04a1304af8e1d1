/**
 * Counters computed from what really happened. The seed's counters are always kept; detailed mode adds
 * per-function counters and latencies, labelled `name{fn="getUser"}`. Durations are kept as histograms, so
 * that the Prometheus output has real buckets; the snapshot reports their averages, as the seed did.
 *
 * @module
 */

/** Upper bounds of the latency buckets, in ms: from a local hit to a store at its deadline and beyond. */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  0.5,
  1,
  2.5,
  5,
  10,
  25,
  50,
  100,
  250,
  500,
  1000,
  2500,
  5000,
  10000,
];

/** The durations recorded under one name: per-bucket counts (not cumulative; the last is +Inf), sum, count. */
export interface Histogram {
  readonly buckets: number[];
  sum: number;
  count: number;
}

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

/** Names of counters; the two-level cache's, `clear()`'s and `schema`'s appear once counted. */
export type Counter =
  | typeof BASE[number]
  | "cache.l1.hit"
  | "cache.l1.stale"
  | "cache.l1.validate"
  | "cache.l1.push"
  | "cache.l1.push.unavailable"
  | "cache.integrity.rejected"
  | "cache.clear"
  | "cache.schema.rejected";

/** Mutable metrics registry of one cache. */
export class MetricsRegistry {
  // A plain object: counting is one property update, cheaper than a Map's get and set.
  #counts: Record<string, number> = {};
  // Hits have a field of their own (reported as `cache.hit`): every hit counts one, and a field's increment
  // is cheaper than the keyed update of `#counts`, a lookup by name.
  #hits = 0;
  #histograms = new Map<string, Histogram>();
  /** When true, counters are also kept per function. */
  detailed = false;

  constructor() {
    this.reset();
  }

  /** Adds `by` to a counter, and to its per-function twin in detailed mode. */
  count(name: Counter, fn?: string, by = 1): void {
    if (name === "cache.hit") this.#hits += by;
    else this.#counts[name] = (this.#counts[name] ?? 0) + by;
    if (this.detailed && fn !== undefined) {
      const labelled = `${name}{fn="${fn}"}`;
      this.#counts[labelled] = (this.#counts[labelled] ?? 0) + by;
    }
  }

  /** Sets a gauge, e.g. the number of pending invalidations. */
  gauge(name: Counter, value: number): void {
    this.#counts[name] = value;
  }

  /** Records a duration (ms); the snapshot reports its average under `name`. */
  time(name: string, ms: number, fn?: string): void {
    this.#add(name, ms);
    if (this.detailed && fn !== undefined) this.#add(`${name}{fn="${fn}"}`, ms);
  }

  #add(name: string, ms: number) {
    let histogram = this.#histograms.get(name);
    if (!histogram) {
      histogram = { buckets: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0), sum: 0, count: 0 };
      this.#histograms.set(name, histogram);
    }
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[i]) i++;
    histogram.buckets[i]++;
    histogram.sum += ms;
    histogram.count++;
  }

  /** A copy of every counter, plus averages of durations. */
  snapshot(): Metrics {
    const out: Metrics = { "cache.warm.ms": 0 };
    for (const [name, value] of Object.entries(this.counters())) out[name] = value;
    for (const [name, { sum, count }] of this.#histograms) out[name] = count ? sum / count : 0;
    return out;
  }

  /** Counters and gauges as kept (no averages), name → value; labelled ones as `name{fn="…"}`. */
  counters(): Readonly<Record<string, number>> {
    return { ...this.#counts, "cache.hit": this.#hits };
  }

  /** Copies of the duration histograms, under the names `snapshot` reports their averages by. */
  histograms(): Map<string, Histogram> {
    const out = new Map<string, Histogram>();
    for (const [name, h] of this.#histograms) out.set(name, { ...h, buckets: [...h.buckets] });
    return out;
  }

  /** Zeroes every counter (gauges keep their current value). */
  reset(): void {
    const pending = this.#counts["cache.invalidate.pending"] ?? 0;
    this.#counts = {};
    this.#histograms.clear();
    this.#hits = 0;
    for (const name of BASE) this.#counts[name] = 0;
    this.#counts["cache.invalidate.pending"] = pending;
  }
}
