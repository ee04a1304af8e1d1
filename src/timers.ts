/**
 * Background timers that never keep a process alive: Node's and Bun's `unref`, Deno's `unrefTimer`; a no-op
 * where neither exists (Workers, browsers end the work with the request anyway).
 *
 * @module
 */

/** Lets the process exit while `timer` waits. */
export function unref(timer: unknown): void {
  const t = timer as { unref?: () => void };
  if (typeof t?.unref === "function") t.unref();
  else {
    const deno = (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno;
    if (typeof timer === "number") deno?.unrefTimer?.(timer);
  }
}
