/**
 * The users API as a Cloudflare Worker: `cd examples/worker && npx wrangler dev` (workerd, local). The cache is
 * in memory per isolate by default; set CACHE_URL (an Upstash REST URL) and CACHE_TOKEN as vars or secrets to
 * share it across isolates and regions, and CACHE_L1_MAX_STALE_MS to keep hot entries in the isolate too (the
 * two-level cache: hits younger than that bound send no request). CACHE_SIGNING_KEYS or CACHE_ENCRYPTION_KEYS
 * (secrets: 64 hex digits per key) sign or encrypt the entries. Background refreshes go through `ctx.waitUntil`.
 *
 * @module
 */

import { initCache } from "../../mod.ts";
import { upstashStore } from "../../adapters/upstash.ts";
import { createApp } from "../hono/app.ts";

interface Env {
  CACHE_URL?: string;
  CACHE_TOKEN?: string;
  CACHE_L1_MAX_STALE_MS?: string;
  [name: string]: string | undefined;
}

const app = createApp();
let ready: Promise<void> | undefined;

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    // Workers get their env per request, so the cache is configured on the first one (CACHE_* read from env).
    // On the edge, adapters are imported and passed as `store` (bundlers then include exactly what is used).
    ready ??= initCache({
      store: env.CACHE_URL ? upstashStore({ url: env.CACHE_URL, token: env.CACHE_TOKEN, env }) : undefined,
      env,
      l1: env.CACHE_L1_MAX_STALE_MS ? { maxStaleMs: Number(env.CACHE_L1_MAX_STALE_MS) } : undefined,
    });
    await ready;
    return app.fetch(request, env, ctx);
  },
};

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
  props: unknown;
}
