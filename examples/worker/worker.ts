/**
 * The users API as a Cloudflare Worker: `cd examples/worker && npx wrangler dev` (workerd, local). The cache is
 * in memory per isolate by default; set CACHE_URL (an Upstash REST URL) and CACHE_TOKEN as vars or secrets to
 * share it across isolates and regions, and CACHE_L1_MAX_STALE_MS to keep hot entries in the isolate too (the
 * two-level cache: hits younger than that bound send no request). CACHE_SIGNING_KEYS or CACHE_ENCRYPTION_KEYS
 * (secrets: 64 hex digits per key) sign or encrypt the entries.
 *
 * Background work (a stale hit's refresh, a write's recache) goes to the request's `ctx` (`waitUntil: ctx`),
 * which keeps the Worker alive until it is done: `GET /profiles/:id` and `PUT /profiles/:id` show it, next to
 * the Hono app (whose middleware hands it `c.executionCtx` by itself).
 *
 * @module
 */

import { cacheRead, cacheWrite, initCache, type ReadResult, recache } from "../../mod.ts";
import { upstashStore } from "../../adapters/upstash.ts";
import { twoLevel } from "../../src/l1/mod.ts";
import { sealed } from "../../src/integrity/mod.ts";
import { createApp } from "../hono/app.ts";

interface Env {
  CACHE_URL?: string;
  CACHE_TOKEN?: string;
  CACHE_L1_MAX_STALE_MS?: string;
  CACHE_SIGNING_KEYS?: string;
  CACHE_ENCRYPTION_KEYS?: string;
  [name: string]: string | undefined;
}

const app = createApp();
let ready: Promise<void> | undefined;

const names = new Map<number, string>();
let profileLoads = 0;
/** Fresh for a second, then served stale while one refresh runs in the background. */
const getUserProfile = cacheRead(
  { key: "user:{userId}:profile", tags: ["user:{userId}"], ttl: 1, staleTtl: 3600 },
  async ({ userId }: { userId: number }) => {
    await new Promise((r) => setTimeout(r, 200)); // database latency: the refresh outlives the response
    return { userId, name: names.get(userId) ?? "Ada", loads: ++profileLoads };
  },
);
const updateUserProfile = cacheWrite(
  { tags: ["user:{userId}"], recache: [recache(getUserProfile)] },
  ({ userId, name }: { userId: number; name: string }) => void names.set(userId, name),
);

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    // Workers get their env per request, so the cache is configured on the first one (CACHE_* read from env).
    // On the edge, adapters are imported and passed as `store` (bundlers then include exactly what is used).
    ready ??= initCache({
      store: env.CACHE_URL ? upstashStore({ url: env.CACHE_URL, token: env.CACHE_TOKEN, env }) : undefined,
      env,
      l1: env.CACHE_L1_MAX_STALE_MS ? twoLevel({ maxStaleMs: Number(env.CACHE_L1_MAX_STALE_MS) }) : undefined,
      // sealed() reads its keys from env.
      integrity: env.CACHE_SIGNING_KEYS || env.CACHE_ENCRYPTION_KEYS ? sealed() : undefined,
    });
    await ready;
    const url = new URL(request.url);
    const userId = Number(url.pathname.match(/^\/profiles\/(\d+)$/)?.[1]);
    if (!userId) return app.fetch(request, env, ctx);
    if (request.method === "PUT") {
      const { name } = await request.json() as { name: string };
      await updateUserProfile({ userId, name }, { waitUntil: ctx }); // answers before the recache is done
      return Response.json({ updated: userId });
    }
    let result: ReadResult | undefined;
    const onResult = (r: ReadResult) => result = r;
    const profile = await getUserProfile({ userId }, { waitUntil: ctx, signal: request.signal, onResult });
    return Response.json({ ...profile, status: result?.status });
  },
};

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
  props: unknown;
}
