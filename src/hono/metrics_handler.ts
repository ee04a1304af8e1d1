/**
 * `metricsHandler()`: serves the cache's metrics in the Prometheus text format.
 *
 * @module
 */

import type { Handler } from "hono";
import { getMetrics } from "../init.ts";
import type { Metrics } from "../metrics.ts";

/**
 * A handler for a metrics route: counters become `cache_hit_total` etc., averages (`*.ms`) and
 * `cache.invalidate.pending` become gauges; per-function values keep their `fn` label.
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
export function metricsHandler(): Handler {
  return function metricsHandler() {
    return new Response(prometheusText(getMetrics()), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  };
}

/** Renders metrics in the Prometheus text exposition format. */
export function prometheusText(metrics: Metrics): string {
  const families = new Map<string, { type: string; lines: string[] }>();
  for (const [key, value] of Object.entries(metrics)) {
    const match = /^([^{]+)(\{fn="(.*)"\})?$/.exec(key);
    if (!match) continue;
    const [, name, , fn] = match;
    const gauge = name.endsWith(".ms") || name === "cache.invalidate.pending";
    const metric = name.replace(/[^a-zA-Z0-9_]/g, "_") + (gauge ? "" : "_total");
    const family = families.get(metric) ?? { type: gauge ? "gauge" : "counter", lines: [] };
    const label = fn === undefined
      ? ""
      : `{fn="${fn.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"}`;
    family.lines.push(`${metric}${label} ${Number.isFinite(value) ? value : 0}`);
    families.set(metric, family);
  }
  let out = "";
  for (const [metric, { type, lines }] of [...families].sort(([a], [b]) => a < b ? -1 : 1)) {
    out += `# TYPE ${metric} ${type}\n${lines.join("\n")}\n`;
  }
  return out;
}
