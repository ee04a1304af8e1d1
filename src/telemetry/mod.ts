/**
 * OpenTelemetry for the cache: its events as metric instruments, spans around loads (and store calls). Its code
 * ships only with applications that import this entry point.
 *
 * @example
 * ```ts
 * import { createCache } from "@svc-infra/cache";
 * import { otel } from "@svc-infra/cache/telemetry";
 * import { metrics, trace } from "@opentelemetry/api";
 *
 * const cache = await createCache({
 *   telemetry: otel({ meter: metrics.getMeter("app"), tracer: trace.getTracer("app") }),
 * });
 * await cache.close();
 * ```
 *
 * @module
 */

import type { CacheFeature, TelemetryPlugin } from "../api/features.ts";
import { telemetryFor, type TelemetryOptions } from "./otel.ts";

export type { MeterLike, SpanLike, TelemetryAttributes, TelemetryOptions, TracerLike } from "./otel.ts";
export type { CacheFeature, FeatureName } from "../api/features.ts";

/**
 * The `telemetry` option of `createCache` and `initCache`: OpenTelemetry metrics and spans. Without a `meter`
 * and a `tracer` it takes the globals of `@opentelemetry/api` (install it beside the cache; a no-op until the
 * application installs an SDK). Its options are checked when the cache opens.
 *
 * @example
 * ```ts
 * import { initCache, closeCache } from "@svc-infra/cache";
 * import { otel } from "@svc-infra/cache/telemetry";
 *
 * await initCache({ telemetry: otel({ spans: "all" }) });
 * await closeCache();
 * ```
 */
export function otel(options: TelemetryOptions = {}): CacheFeature<"telemetry"> {
  const plugin: TelemetryPlugin = { feature: "telemetry", open: (what) => telemetryFor(options, what) };
  return plugin;
}
