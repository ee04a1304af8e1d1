/**
 * The Prometheus text exposition format (version 0.0.4) of one cache's metrics. Counters end in `_total`,
 * durations are histograms in seconds (`_bucket`, `_sum`, `_count`), so `histogram_quantile` and sums across
 * instances work; the only gauge is the number of pending invalidations. With per-function metrics on, each
 * family has one series per function (`fn` label) and one without the label for what no function did, so
 * summing a family never counts anything twice.
 *
 * @module
 */

import { type Histogram, LATENCY_BUCKETS_MS, type MetricsRegistry } from "./metrics.ts";
import type { Cache } from "../api/cache.ts";
import { CONTEXT } from "../api/engine_of.ts";
import { defaultState } from "../api/default_cache.ts";

const GAUGES: ReadonlySet<string> = new Set(["cache.invalidate.pending"]);
const LABELLED = /^([^{]+)\{fn="(.*)"\}$/s; // `s`: a name may hold line breaks
const HELP: Readonly<Record<string, string>> = {
  "cache.hit": "Calls served from the cache (fresh or stale)",
  "cache.miss": "Calls the cache could not serve",
  "cache.load": "Loader runs",
  "cache.error": "Store and serialization errors",
  "cache.invalidate.pending": "Invalidations queued until the store answers",
  "cache.load.ms": "Loader run time",
  "cache.backend.ms": "Store call time",
  "cache.warm.ms": "Warm-up time per function",
};

/**
 * The metrics of `cache` (an instance; the default cache when omitted) in the Prometheus text format, for any
 * server (Hono users have `metricsHandler()`): counters as `_total`, durations as histograms in seconds,
 * summable across instances. Serve it with `content-type: text/plain; version=0.0.4`.
 *
 * @example
 * ```ts
 * import { createCache, prometheusMetrics } from "@svc-infra/cache";
 * const cache = await createCache();
 * await cache.getOrSet("k", () => 1);
 * console.log(prometheusMetrics(cache).includes("cache_miss_total 1")); // true
 * console.log(prometheusMetrics().includes("# TYPE cache_hit_total counter")); // the default cache: true
 * ```
 */
export function prometheusMetrics(cache?: Cache): string {
  if (cache !== undefined && typeof cache?.[CONTEXT] !== "function") {
    throw new TypeError(
      `Cannot render metrics: expected a cache (createCache()), current value is ${
        cache === null ? "null" : typeof cache
      }`,
    );
  }
  return prometheusText(cache ? cache[CONTEXT]().metrics : defaultState().metrics);
}

/** Renders `registry` as Prometheus text. */
function prometheusText(registry: MetricsRegistry): string {
  const counters = groupByName(Object.entries(registry.counters()));
  const histograms = groupByName([...registry.histograms()]);
  const families: [string, string][] = [];
  for (const [name, { total, byFn }] of counters) {
    const gauge = GAUGES.has(name);
    const metric = metricName(name) + (gauge ? "" : "_total");
    let lines = `${header(metric, name, gauge ? "gauge" : "counter")}`;
    let attributed = 0;
    for (const [fn, value] of byFn) {
      lines += `${metric}{fn="${escape(fn)}"} ${value}\n`;
      attributed += value;
    }
    const rest = (total ?? 0) - attributed;
    if (byFn.size === 0 || rest !== 0) lines += `${metric} ${rest}\n`;
    families.push([metric, lines]);
  }
  for (const [name, { total, byFn }] of histograms) {
    const metric = metricName(name.replace(/\.ms$/, ".duration")) + "_seconds";
    let lines = header(metric, name, "histogram");
    for (const [fn, h] of byFn) lines += histogramLines(metric, `fn="${escape(fn)}"`, h);
    const rest = total && byFn.size > 0 ? minus(total, [...byFn.values()]) : total;
    if (rest && (byFn.size === 0 || rest.count > 0)) lines += histogramLines(metric, "", rest);
    families.push([metric, lines]);
  }
  return families.sort(([a], [b]) => a < b ? -1 : 1).map(([, lines]) => lines).join("");
}

/** Groups `name` and `name{fn="…"}` entries: the unlabelled total and the per-function values. */
function groupByName<T>(entries: Iterable<[string, T]>): Map<string, { total?: T; byFn: Map<string, T> }> {
  const out = new Map<string, { total?: T; byFn: Map<string, T> }>();
  for (const [key, value] of entries) {
    const match = LABELLED.exec(key);
    const name = match ? match[1] : key;
    const group: { total?: T; byFn: Map<string, T> } = out.get(name) ?? { byFn: new Map() };
    if (match) group.byFn.set(match[2], value);
    else group.total = value;
    out.set(name, group);
  }
  return out;
}

/** `total` less the per-function histograms: what no function recorded. */
function minus(total: Histogram, parts: Histogram[]): Histogram {
  const rest = { buckets: [...total.buckets], sum: total.sum, count: total.count };
  for (const part of parts) {
    part.buckets.forEach((n, i) => rest.buckets[i] -= n);
    rest.sum -= part.sum;
    rest.count -= part.count;
  }
  return rest;
}

function histogramLines(metric: string, label: string, h: Histogram): string {
  let out = "";
  let cumulative = 0;
  LATENCY_BUCKETS_MS.forEach((bound, i) => {
    cumulative += h.buckets[i];
    out += `${metric}_bucket{${label}${label ? "," : ""}le="${bound / 1000}"} ${cumulative}\n`;
  });
  cumulative += h.buckets[LATENCY_BUCKETS_MS.length];
  out += `${metric}_bucket{${label}${label ? "," : ""}le="+Inf"} ${cumulative}\n`;
  const braces = label ? `{${label}}` : "";
  out += `${metric}_sum${braces} ${Math.max(0, h.sum) / 1000}\n${metric}_count${braces} ${h.count}\n`;
  return out;
}

function header(metric: string, name: string, type: string): string {
  const help = HELP[name];
  return `${help ? `# HELP ${metric} ${help}\n` : ""}# TYPE ${metric} ${type}\n`;
}

function metricName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, "_");
}

function escape(label: string): string {
  return label.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
