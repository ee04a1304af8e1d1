/**
 * Running a loader, as single reads and batches both do: inside a `cache.load` span when telemetry is on, its
 * outcome a `load` event (and an `error` event when it throws) when anyone observes the cache.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";

/** Runs `load` for `what`; `about` names the key (or the batch's keys). Resolves with its value and run time. */
export async function runLoader<T>(
  cache: CacheContext,
  what: string,
  about: { key: string } | { keys: readonly string[] },
  load: () => T | Promise<T>,
): Promise<{ value: Awaited<T>; durationMs: number }> {
  const started = performance.now();
  const run = async () => await load();
  try {
    const telemetry = cache.diagnostics.telemetry;
    const value =
      await (telemetry ? telemetry.span("cache.load", { "cache.function": what }, false, run) : run());
    const durationMs = performance.now() - started;
    if (cache.diagnostics.observed) {
      cache.diagnostics.emit({ type: "load", ...about, function: what, durationMs });
    }
    return { value, durationMs };
  } catch (error) {
    if (cache.diagnostics.observed) {
      const event = { ...about, function: what, durationMs: performance.now() - started, error };
      cache.diagnostics.emit({ type: "load", ...event });
      cache.diagnostics.emit({ type: "error", ...event });
    }
    throw error;
  }
}
