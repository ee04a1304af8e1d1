/**
 * `metricsHandler()`: serves a cache's metrics in the Prometheus text format.
 *
 * @module
 */

import { prometheusMetrics } from "../observe/prometheus.ts";

/**
 * A handler for a metrics route: the default cache's metrics, or what `metrics` renders (an instance's:
 * `() => prometheusMetrics(cache)`). Counters are `cache_hit_total` etc., durations histograms in seconds
 * (`cache_load_duration_seconds_bucket` …); per-function values carry an `fn` label.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { metricsHandler } from "@svc-infra/cache/hono";
 * const app = new Hono();
 * app.get("/metrics", metricsHandler());
 * console.log(await (await app.request("/metrics")).text());
 * ```
 */
export function metricsHandler(metrics: () => string = prometheusMetrics): () => Response {
  if (typeof metrics !== "function") {
    throw new TypeError(
      `Cannot serve metrics: expected a function rendering them (() => prometheusMetrics(cache)), current value is ${typeof metrics}`,
    );
  }
  return function metricsHandler() {
    return new Response(metrics(), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  };
}
