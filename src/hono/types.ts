/**
 * The shapes of Hono's objects the middleware relies on. They are declared here rather than imported from
 * `hono`, so that this entry's documentation is complete on its own (Hono's `Context` refers to dozens of
 * Hono's unexported types); Hono's own `Context` satisfies them.
 *
 * @module
 */

/** The part of Hono's `HonoRequest` (`c.req`) the middleware and its callbacks use. */
export interface HonoRequestView {
  /** The method, upper case. */
  readonly method: string;
  /** The full URL. */
  readonly url: string;
  /** A request header's value. */
  header(name: string): string | undefined;
  /** A route param's value. */
  param(name: string): string | undefined;
  /** Every route param. */
  param(): Record<string, string>;
  /** A query value. */
  query(name: string): string | undefined;
  /** Every query value (the first of repeated names). */
  query(): Record<string, string>;
}

/**
 * The part of Hono's `Context` the middleware and its callbacks use. Hono passes its whole `Context`, so a
 * callback may declare its parameter as Hono's `Context` (with the app's `Env`) to reach the rest.
 */
export interface HonoContext {
  /** The request. */
  readonly req: HonoRequestView;
  /**
   * The response (Hono's is never `undefined` to read). Setting it replaces it; Hono merges the earlier
   * response's headers into the new one unless it was first set to `undefined`.
   */
  res: Response | undefined;
  /** Whether a response has been set. */
  finalized: boolean;
  /** The platform's execution context (Workers, Vercel); Hono throws on reading it where there is none. */
  readonly executionCtx: { waitUntil(promise: Promise<unknown>): void };
  /** A variable set by earlier middleware with `c.set` (Hono's `c.get`). */
  get(key: string): unknown;
  /** A response with the headers prepared for this one (`c.header()` before a response existed). */
  newResponse(body: null): Response;
}

/**
 * A function of the request context, as the middleware's options take it (`key`, `tags`, `identity`). Its
 * parameter may be declared as Hono's `Context`, which has more than {@linkcode HonoContext} (declared as a
 * method, which TypeScript compares both ways, so that a richer parameter type is accepted).
 */
export type ContextFunction<R> = { call(c: HonoContext): R }["call"];

/** A Hono middleware (what `app.get`, `app.use` … take). */
export type HonoMiddleware = (c: HonoContext, next: () => Promise<void>) => Promise<void>;
