/**
 * Timers of the core: background ones that never keep a process alive (Node's and Bun's `unref`, Deno's
 * `unrefTimer`; a no-op where neither exists: Workers end the work with the request anyway), and a bounded
 * wait on a promise.
 *
 * @module
 */

/** Lets the process exit while `timer` waits. */
export function unref(timer: unknown): void {
  hold(timer, false);
}

/** Whether `timer` keeps the process alive while it waits (`unref` / Deno's `unrefTimer`, and back). */
export function hold(timer: unknown, alive: boolean): void {
  const t = timer as { ref?: () => void; unref?: () => void };
  if (typeof t?.unref === "function") alive ? t.ref?.() : t.unref();
  else if (typeof timer === "number") {
    const deno =
      (globalThis as { Deno?: { refTimer?(id: number): void; unrefTimer?(id: number): void } }).Deno;
    alive ? deno?.refTimer?.(timer) : deno?.unrefTimer?.(timer);
  }
}

/**
 * The promise's value if it settles successfully within `ms`, else `undefined` (a failure too). The timer is an
 * ordinary one, so a script awaiting this does not end before it does.
 */
export function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      () => (clearTimeout(timer), resolve(undefined)),
    );
  });
}

/** `promise`, or a rejection once `ms` passed first (on a timer that does not hold the process). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    unref(timer);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
