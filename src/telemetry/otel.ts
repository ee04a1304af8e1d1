/**
 * OpenTelemetry: the cache's events as metric instruments, and spans around loads and store calls (children
 * of the caller's active span, parents of what the loader does). Loaded only when `telemetry` is configured;
 * `telemetry: true` takes the global meter and tracer of `@opentelemetry/api` (an optional peer, a no-op until
 * the application installs an SDK).
 *
 * Counters are observable: a hit adds 1 to a number this module keeps, and the SDK reads the totals when it
 * collects, so a hit costs no call into the SDK. Durations are histograms, recorded as they happen.
 *
 * @module
 */

import type { CacheEvent } from "../events.ts";

/** TelemetryAttributes of a data point or a span, as OpenTelemetry takes them. */
export type TelemetryAttributes = Record<string, string>;

/** The part of an OpenTelemetry `Meter` the cache uses (a real `Meter` is one). */
export interface MeterLike {
  /** A histogram: durations of loads and store calls. */
  createHistogram(
    name: string,
    options?: { description?: string; unit?: string },
  ): { record(value: number, attributes?: TelemetryAttributes): void };
  /** A counter the SDK reads when it collects: hits, misses, loads, errors, invalidations. */
  createObservableCounter(
    name: string,
    options?: { description?: string; unit?: string },
  ): {
    addCallback(
      callback: (result: { observe(value: number, attributes?: TelemetryAttributes): void }) => void,
    ): void;
  };
}

/** The part of an OpenTelemetry `Span` the cache uses. */
export interface SpanLike {
  /** Marks a failed load or store call (`code` 2: error). */
  setStatus(status: { code: number; message?: string }): unknown;
  /** Records what a failed load or store call threw. */
  recordException(exception: Error | string): void;
  /** Ends the span. */
  end(): void;
}

/** The part of an OpenTelemetry `Tracer` the cache uses (a real `Tracer` is one). */
export interface TracerLike {
  /** Runs `fn` in a new span, active (the parent of spans started inside), a child of the active one. */
  startActiveSpan<F extends (span: SpanLike) => unknown>(
    name: string,
    options: { attributes?: TelemetryAttributes; kind?: number },
    fn: F,
  ): ReturnType<F>;
}

/** `telemetry`'s options: where instruments and spans go. */
export interface TelemetryOptions {
  /** The meter; the global one (`metrics.getMeter`) when omitted. */
  meter?: MeterLike;
  /** The tracer; the global one (`trace.getTracer`) when omitted. */
  tracer?: TracerLike;
  /** Spans around loads and store calls. @default {true} */
  spans?: boolean;
}

const NAME = "@svc-infra/cache";
/** `SpanKind.CLIENT`, `SpanKind.INTERNAL` and `SpanStatusCode.ERROR` of `@opentelemetry/api`. */
const CLIENT = 2, INTERNAL = 0, ERROR = 2;

/** Counters fed by events: name, description, and which events add to it (and by how much). */
const COUNTERS: readonly [string, string, (event: CacheEvent) => number][] = [
  ["cache.hits", "Calls served fresh from the cache", (e) => e.type === "hit" ? 1 : 0],
  [
    "cache.stale_hits",
    "Calls served a stale value (grace, soft invalidation)",
    (e) => e.type === "stale" ? 1 : 0,
  ],
  ["cache.misses", "Calls the cache could not serve", (e) => e.type === "miss" ? 1 : 0],
  ["cache.loads", "Loader runs that returned", (e) => e.type === "load" && e.error === undefined ? 1 : 0],
  ["cache.load_errors", "Loader runs that threw", (e) => e.type === "load" && e.error !== undefined ? 1 : 0],
  [
    "cache.invalidations",
    "Tags and entries invalidated",
    (e) => e.type === "invalidate" ? (e.tags?.length ?? 0) + (e.keys?.length ?? 0) : 0,
  ],
  [
    "cache.backend_errors",
    "Store calls that failed or timed out",
    (e) => e.type === "backend" && e.error !== undefined ? 1 : 0,
  ],
];

/** One cache's instruments. */
export class Telemetry {
  readonly #store: string;
  readonly #tracer?: TracerLike;
  /** Per counter, attribute key → [attributes, total]. */
  readonly #totals: Map<string, [TelemetryAttributes, number]>[] = COUNTERS.map(() => new Map());
  readonly #loadDuration: { record(value: number, attributes?: TelemetryAttributes): void };
  readonly #backendDuration: { record(value: number, attributes?: TelemetryAttributes): void };

  constructor(meter: MeterLike, tracer: TracerLike | undefined, store: string) {
    this.#store = store;
    this.#tracer = tracer;
    COUNTERS.forEach(([name, description], i) => {
      meter.createObservableCounter(name, { description }).addCallback((result) => {
        for (const [attributes, total] of this.#totals[i].values()) result.observe(total, attributes);
      });
    });
    this.#loadDuration = meter.createHistogram("cache.load.duration", {
      description: "Loader run time",
      unit: "ms",
    });
    this.#backendDuration = meter.createHistogram("cache.backend.duration", {
      description: "Store call time",
      unit: "ms",
    });
  }

  /** Counts `event` and records its duration where it has one. */
  record(event: CacheEvent): void {
    for (let i = 0; i < COUNTERS.length; i++) {
      const by = COUNTERS[i][2](event);
      if (by === 0) continue;
      const key = `${event.function ?? ""}\u0000${event.tier ?? ""}\u0000${event.operation ?? ""}`;
      const totals = this.#totals[i];
      const total = totals.get(key);
      if (total) total[1] += by;
      else totals.set(key, [this.#attributes(event), by]);
    }
    if (event.type === "load" && event.durationMs !== undefined) {
      this.#loadDuration.record(event.durationMs, this.#attributes(event));
    } else if (event.type === "backend" && event.durationMs !== undefined) {
      this.#backendDuration.record(event.durationMs, this.#attributes(event));
    }
  }

  /** Runs `fn` in a span named `name` (when spans are on), ended with its outcome. */
  span<T>(name: string, attributes: TelemetryAttributes, client: boolean, fn: () => Promise<T>): Promise<T> {
    const tracer = this.#tracer;
    if (!tracer) return fn();
    const all = { "cache.store": this.#store, ...attributes };
    return tracer.startActiveSpan(
      name,
      { attributes: all, kind: client ? CLIENT : INTERNAL },
      async (span) => {
        try {
          return await fn();
        } catch (error) {
          span.recordException(error instanceof Error ? error : String(error));
          span.setStatus({ code: ERROR, message: (error as Error)?.message });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  #attributes(event: CacheEvent): TelemetryAttributes {
    const attributes: TelemetryAttributes = { "cache.store": this.#store };
    if (event.function !== undefined) attributes["cache.function"] = event.function;
    if (event.tier !== undefined) attributes["cache.tier"] = event.tier;
    if (event.operation !== undefined) attributes["cache.operation"] = event.operation;
    if (event.type === "load" || event.type === "backend") {
      attributes["cache.result"] = event.error === undefined ? "ok" : "error";
    } else if (event.type === "hit" || event.type === "miss" || event.type === "stale") {
      attributes["cache.result"] = event.type;
    }
    return attributes;
  }
}

/** Builds the instruments for `options` (`true`: the globals of `@opentelemetry/api`). */
export async function telemetryFor(options: true | TelemetryOptions, store: string): Promise<Telemetry> {
  const given = options === true ? {} : options;
  let { meter, tracer } = given;
  if (!meter || (!tracer && given.spans !== false)) {
    const api = await import("@opentelemetry/api");
    meter ??= api.metrics.getMeter(NAME);
    tracer ??= api.trace.getTracer(NAME) as TracerLike;
  }
  return new Telemetry(meter, given.spans === false ? undefined : tracer, store);
}
