/**
 * `waitUntil` options: the one place where what users pass becomes the function background work goes to.
 *
 * @module
 */

/** Keeps a promise's work alive after the response has been sent (Workers, Vercel). */
export type WaitUntil = (promise: Promise<unknown>) => void;

/**
 * What a `waitUntil` option takes: a function, or the object whose `waitUntil` method it is (a Worker's
 * `ctx`, Hono's `c.executionCtx`, Vercel's `context`), which is then called on that object.
 *
 * @example
 * ```ts
 * import { cacheRead } from "@svc-infra/cache";
 * const getUser = cacheRead({ key: "user:{id}", ttl: 60, staleTtl: 600 }, ({ id }: { id: number }) => ({ id }));
 * // A Worker's fetch handler: a stale hit's refresh goes to the request's ctx.
 * async function fetch(_request: Request, _env: unknown, ctx: { waitUntil(promise: Promise<unknown>): void }) {
 *   return Response.json(await getUser({ id: 1 }, { waitUntil: ctx }));
 * }
 * await fetch(new Request("http://localhost/"), {}, { waitUntil: () => {} });
 * ```
 */
export type WaitUntilOption = WaitUntil | { waitUntil(promise: Promise<unknown>): void };

/**
 * The option as a function. A host's method taken off its object (`ctx.waitUntil` on Workers: a native
 * function named `waitUntil`) throws "Illegal invocation" when called alone, and its object cannot be found
 * again: `fallback` (the cache's own `waitUntil`) stands in for it, and without one it is refused here, where
 * every call sees it, instead of on the first background refresh.
 *
 * @throws {TypeError} anything else than a function or an object with a `waitUntil` method; a detached host
 * method without a fallback.
 */
export function toWaitUntil(value: WaitUntilOption | undefined, fallback?: WaitUntil): WaitUntil | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "function") {
    if (!isDetachedHostMethod(value)) return value;
    if (fallback) return fallback;
    throw new TypeError(
      "Cannot use waitUntil: current value is a detached host method (ctx.waitUntil), which throws " +
        '"Illegal invocation" when called without its object; pass the object instead (waitUntil: ctx, or ' +
        'waitUntil: c.executionCtx), or on Workers give initCache the waitUntil of "cloudflare:workers"',
    );
  }
  const owner = value as { waitUntil?: unknown };
  if (typeof owner === "object" && owner !== null && typeof owner.waitUntil === "function") {
    return (promise) => (owner as { waitUntil: WaitUntil }).waitUntil(promise);
  }
  throw new TypeError(
    `Cannot use waitUntil: current value is ${
      describe(value)
    }; pass a function or an object with a waitUntil ` +
      "method (waitUntil: ctx)",
  );
}

/** Native and named exactly `waitUntil`: a method read off a host object (a bound one is `bound waitUntil`). */
function isDetachedHostMethod(fn: (...args: never[]) => unknown): boolean {
  return fn.name === "waitUntil" && /\{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(fn));
}

function describe(value: unknown): string {
  if (typeof value !== "object" || value === null) return String(value);
  return `an object without a waitUntil method (${Object.keys(value).slice(0, 5).join(", ") || "no keys"})`;
}
