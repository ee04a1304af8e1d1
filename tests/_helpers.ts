/**
 * Test helpers: a clock tests move by hand, held promises, a logger that records, a fresh cache per test, and
 * entry metadata for tests of the envelope.
 *
 * @module
 */

import { type CacheOptions, initCache, resetMetrics } from "../mod.ts";
import type { Clock, Logger } from "../mod.ts";
import type { EntryMeta } from "../src/entry/entry.ts";

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

/**
 * A process driven one JSON command a line on stdin, each answered by one JSON line on stdout (the peers of
 * tests that need several real processes on one store).
 */
export class LinePeer {
  readonly name: string;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #output: ReadableStreamDefaultReader<string>;
  #pending = "";

  constructor(name: string, command: string, args: string[], env: Record<string, string>) {
    this.name = name;
    this.#child = new Deno.Command(command, {
      args,
      env: { ...env, NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#output = this.#child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** Sends `command`; resolves with the peer's answer. */
  async send<T>(command: Record<string, unknown>): Promise<T> {
    await this.#stdin.write(new TextEncoder().encode(JSON.stringify(command) + "\n"));
    while (!this.#pending.includes("\n")) {
      const { value, done } = await this.#output.read();
      if (done) throw new Error(`${this.name} exited before answering ${JSON.stringify(command)}`);
      this.#pending += value;
    }
    const end = this.#pending.indexOf("\n");
    const line = this.#pending.slice(0, end);
    this.#pending = this.#pending.slice(end + 1);
    return JSON.parse(line);
  }

  /** Closes its stdin and waits for it; kills it after `closing` fails. Resolves with its exit code. */
  async close(closing?: Promise<unknown>): Promise<number> {
    await closing?.catch(() => this.#child.kill());
    await this.#stdin.close().catch(() => {});
    await this.#output.cancel().catch(() => {});
    return (await this.#child.status).code;
  }
}
