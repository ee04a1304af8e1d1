/**
 * Test helpers: a clock tests move by hand, held promises, a logger that records, a fresh cache per test, and
 * entry metadata for tests of the envelope.
 *
 * @module
 */

import { type CacheOptions, initCache, resetMetrics } from "../mod.ts";
import type { Clock, Logger } from "../mod.ts";
import type { EntryMeta } from "../src/entry.ts";

/** An entry's metadata, with `overrides`: for tests that encode entries by hand. */
export function entryMeta(overrides: Partial<EntryMeta> = {}): EntryMeta {
  return {
    token: "0123456789abcdef",
    createdAt: 1,
    freshUntil: 2,
    refreshAt: 2,
    staleUntil: 3,
    negative: false,
    ttl: 60,
    loadMs: 1,
    versions: [],
    dependencies: [],
    ...overrides,
  };
}

/** A clock that only moves when told. */
export class ManualClock implements Clock {
  #now: number;
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    this.#now += ms;
  }
}

/** A promise with its resolve and reject, for loaders held open by a test. */
export function deferred<T>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: T) => void, reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => (resolve = res, reject = rej));
  return { promise, resolve, reject };
}

/** A logger that keeps every line. */
export class RecordingLogger implements Logger {
  lines: { level: string; message: string }[] = [];
  debug = (message: string) => void this.lines.push({ level: "debug", message });
  info = (message: string) => void this.lines.push({ level: "info", message });
  warn = (message: string) => void this.lines.push({ level: "warn", message });
  error = (message: string) => void this.lines.push({ level: "error", message });
  /** Messages at a level. */
  at(level: string): string[] {
    return this.lines.filter((l) => l.level === level).map((l) => l.message);
  }
}

/** Starts a fresh in-memory cache with a manual clock and a recording logger; resets metrics. */
export async function freshCache(
  options: CacheOptions = {},
): Promise<{ clock: ManualClock; logger: RecordingLogger }> {
  const clock = new ManualClock();
  const logger = new RecordingLogger();
  await initCache({ clock, logger, prefix: "test", version: "v1", ...options });
  resetMetrics();
  return { clock, logger };
}

/** Waits until queued microtasks and one macrotask turn have run (background work settles). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
