/**
 * What a cache tells the outside: counters, events (listeners and telemetry), and log lines, rate-limited so
 * that an outage is one line, not one per call, and with every configured secret removed. A cache and its
 * namespaces share one.
 *
 * @module
 */

import type { MetricsRegistry } from "../observe/metrics.ts";
import type { CacheEvent, CacheEvents } from "../observe/events.ts";
import type { Telemetry } from "../telemetry/otel.ts";
import type { ContextSettings } from "./settings.ts";

/** The settings diagnostics read. */
type LogSettings = Pick<ContextSettings, "debug" | "logger" | "clock" | "errorLogIntervalMs" | "secrets">;

/** One cache's counters, events and log lines. */
export class Diagnostics {
  /** This cache's counters (the default cache hands its registry on when `initCache` reconfigures it). */
  readonly metrics: MetricsRegistry;
  /** This cache's event listeners (kept, like the counters, when `initCache` reconfigures the default). */
  readonly events: CacheEvents;
  /** OpenTelemetry instruments and spans, when `telemetry` is configured. */
  readonly telemetry?: Telemetry;
  readonly #settings: LogSettings;
  readonly #warned = new Set<string>();
  /** Id → when {@linkcode warnEvery} last logged it. */
  readonly #warnedAt = new Map<string, number>();
  #lastErrorLog = -Infinity;
  #suppressedErrors = 0;

  constructor(settings: LogSettings, metrics: MetricsRegistry, events: CacheEvents, telemetry?: Telemetry) {
    this.#settings = settings;
    this.metrics = metrics;
    this.events = events;
    this.telemetry = telemetry;
  }

  /** `true` when events are wanted (listeners, telemetry): build one only then. */
  get observed(): boolean {
    return this.events.active || this.telemetry !== undefined;
  }

  /** Hands `event` to the telemetry and the listeners; a listener's failure is logged once, never thrown. */
  emit(event: CacheEvent): void {
    this.telemetry?.record(event);
    if (this.events.active) this.events.emit(event, this.#listenerFailed);
  }

  readonly #listenerFailed = (error: unknown) =>
    this.warnOnce(
      "listener",
      `an event listener failed (${(error as Error)?.message ?? error}); calls go on`,
    );

  /**
   * Counts an error and logs it, at most once per interval: an outage is one log line, not one per call.
   */
  reportError(message: string): void {
    this.metrics.count("cache.error");
    const now = this.#settings.clock.now();
    if (now - this.#lastErrorLog < this.#settings.errorLogIntervalMs) {
      this.#suppressedErrors++;
      return;
    }
    const more = this.#suppressedErrors
      ? ` (${this.#suppressedErrors} similar errors since the last report)`
      : "";
    this.#lastErrorLog = now;
    this.#suppressedErrors = 0;
    this.#settings.logger.warn(`[svc-infra/cache] ${this.redact(message)}${more}`);
  }

  /** Replaces every configured secret in `text`. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.#settings.secrets) if (secret) out = out.split(secret).join("***");
    return out;
  }

  /** Logs a warning once per `id` for the lifetime of this cache. */
  warnOnce(id: string, message: string): void {
    if (this.#warned.has(id)) return;
    this.#warned.add(id);
    this.#settings.logger.warn(`[svc-infra/cache] ${message}`);
  }

  /** Logs a warning at most once per error-log interval for each `id` (a condition that may recur). */
  warnEvery(id: string, message: string): void {
    const now = this.#settings.clock.now();
    if (now - (this.#warnedAt.get(id) ?? -Infinity) < this.#settings.errorLogIntervalMs) return;
    this.#warnedAt.set(id, now);
    this.#settings.logger.warn(`[svc-infra/cache] ${this.redact(message)}`);
  }

  /** Logs a warning every time (a condition worth a line each time it happens, e.g. lost invalidations). */
  warn(message: string): void {
    this.#settings.logger.warn(`[svc-infra/cache] ${message}`);
  }

  /** Prints a debug line in the seed's format when debug is on. */
  debug(line: string): void {
    if (this.#settings.debug) this.#settings.logger.debug(line);
  }
}
