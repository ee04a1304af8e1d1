/**
 * OpenTelemetry: the cache's events as metric instruments, and spans around loads and store calls (children
 * of the caller's active span, parents of what the loader does). Shipped only with applications that import
 * `@svc-infra/cache/telemetry`; `otel()` takes the global meter and tracer of `@opentelemetry/api` (an optional
 * peer, a no-op until the application installs an SDK).
 *
 * Counters are observable: a hit adds 1 to a number this module keeps, and the SDK reads the totals when it
 * collects, so a hit costs no call into the SDK. Durations are histograms, recorded as they happen.
 *
 * @module
 */

import type { CacheEvent } from "../observe/events.ts";
import { checkOptions, optionNames } from "../api/option_names.ts";
import { checkMethods } from "../base/shape.ts";

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

/** The options of `otel()`: where instruments and spans go. */
export interface TelemetryOptions {
  /** The meter; the global one (`metrics.getMeter`) when omitted. */
  meter?: MeterLike;
  /** The tracer; the global one (`trace.getTracer`) when omitted. */
  tracer?: TracerLike;
  /**
   * Which calls get spans: `"loads"` (the loader runs, where a miss spends its time), `"all"` (store calls
   * too: one per hit; Redis client instrumentations may already make them), `"none"`. @default {"loads"}
   */
  spans?: "loads" | "all" | "none";
}

/** Every option name of {@linkcode TelemetryOptions}. */
const TELEMETRY_OPTION_NAMES = optionNames<TelemetryOptions>({ meter: 1, tracer: 1, spans: 1 });

const NAME = "@svc-infra/cache";
/** `SpanKind.CLIENT`, `SpanKind.INTERNAL` and `SpanStatusCode.ERROR` of `@opentelemetry/api`. */
const CLIENT = 2, INTERNAL = 0, ERROR = 2;

/** The counters: name and description, in the order of the indexes below. */
const COUNTERS: readonly [string, string][] = [
  ["cache.hits", "Calls served fresh from the cache"],
  ["cache.stale_hits", "Calls served a stale value (grace, soft invalidation)"],
  ["cache.misses", "Calls the cache could not serve"],
  ["cache.loads", "Loader runs that returned"],
  ["cache.load_errors", "Loader runs that threw"],
  ["cache.invalidations", "Tags and entries invalidated"],
  ["cache.backend_errors", "Store calls that failed or timed out"],
];
const HITS = 0, STALE_HITS = 1, MISSES = 2, LOADS = 3, LOAD_ERRORS = 4, INVALIDATIONS = 5, BACKEND_ERRORS = 6;

/** One counter's totals per attribute set: by function, then by tier or operation. */
type Totals = Map<string, Map<string, [TelemetryAttributes, number]>>;

/** One cache's instruments. */
export class Telemetry {
  readonly #store: string;
  readonly #tracer?: TracerLike;
  /** `true` when store calls get spans too. */
  readonly storeSpans: boolean;
  readonly #totals: Totals[] = COUNTERS.map(() => new Map());
  readonly #loadDuration: { record(value: number, attributes?: TelemetryAttributes): void };
  readonly #backendDuration: { record(value: number, attributes?: TelemetryAttributes): void };

  constructor(meter: MeterLike, tracer: TracerLike | undefined, store: string, storeSpans: boolean) {
    this.#store = store;
    this.#tracer = tracer;
    this.storeSpans = tracer !== undefined && storeSpans;
    COUNTERS.forEach(([name, description], i) => {
      meter.createObservableCounter(name, { description }).addCallback((result) => {
        for (const byFunction of this.#totals[i].values()) {
          for (const [attributes, total] of byFunction.values()) result.observe(total, attributes);
        }
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
    switch (event.type) {
      case "hit":
        return this.#count(HITS, event, 1);
      case "stale":
        return this.#count(STALE_HITS, event, 1);
      case "miss":
        return this.#count(MISSES, event, 1);
      case "load":
        this.#count(event.error === undefined ? LOADS : LOAD_ERRORS, event, 1);
        return this.#loadDuration.record(event.durationMs ?? 0, this.#attributes(event));
      case "invalidate":
        return this.#count(INVALIDATIONS, event, (event.tags?.length ?? 0) + (event.keys?.length ?? 0));
      case "backend":
        if (event.error !== undefined) this.#count(BACKEND_ERRORS, event, 1);
        return this.#backendDuration.record(event.durationMs ?? 0, this.#attributes(event));
    }
  }

  /** Adds `by` to counter `i` for the event's attributes; a hit allocates nothing once its set is known. */
  #count(i: number, event: CacheEvent, by: number): void {
    const totals = this.#totals[i];
    const fn = event.function ?? "", detail = event.tier ?? event.operation ?? "";
    let byFunction = totals.get(fn);
    if (!byFunction) totals.set(fn, byFunction = new Map());
    const total = byFunction.get(detail);
    if (total) total[1] += by;
    else byFunction.set(detail, [this.#attributes(event), by]);
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

/**
 * Checks `options` and finds the meter and tracer (by default the globals of `@opentelemetry/api`), before any
 * connection opens; resolves with what builds one cache's instruments for its store. `what` starts messages.
 */
export async function telemetryFor(
  given: TelemetryOptions,
  what: string,
): Promise<(store: string) => Telemetry> {
  checkOptions(given, TELEMETRY_OPTION_NAMES, `${what}: telemetry`);
  const spans = given.spans ?? "loads";
  if (!["loads", "all", "none"].includes(spans)) {
    throw new TypeError(
      `${what}: telemetry.spans must be "loads", "all" or "none", current value is ${JSON.stringify(spans)}`,
    );
  }
  let { meter, tracer } = given;
  if (!meter || (!tracer && spans !== "none")) {
    let api: typeof import("@opentelemetry/api");
    try {
      api = await import("@opentelemetry/api");
    } catch (error) {
      throw new TypeError(
        `${what}: telemetry without a meter and a tracer reads the globals of @opentelemetry/api, which cannot be loaded (${
          (error as Error)?.message
        }); install it: npm install @opentelemetry/api`,
        { cause: error },
      );
    }
    meter ??= api.metrics.getMeter(NAME);
    tracer ??= api.trace.getTracer(NAME) as TracerLike;
  }
  checkMethods(`${what}: telemetry`, "a meter (metrics.getMeter())", meter, [
    "createObservableCounter",
    "createHistogram",
  ]);
  if (spans !== "none") {
    checkMethods(`${what}: telemetry`, "a tracer (trace.getTracer())", tracer, ["startActiveSpan"]);
  }
  const found = { meter, tracer: spans === "none" ? undefined : tracer };
  return (store) => new Telemetry(found.meter, found.tracer, store, spans === "all");
}
