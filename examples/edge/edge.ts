/**
 * The users API for Vercel Edge Functions / the `edge-runtime` sandbox: a fetch-event worker with no Node
 * or Deno APIs. The test suite bundles it with esbuild and runs it in `edge-runtime`.
 *
 * @module
 */

import { initCache } from "../../mod.ts";
import { createApp } from "../hono/app.ts";

const app = createApp();
const ready = initCache();

/** The fetch handler, as Vercel's edge runtime calls it. */
export default async function handler(request: Request): Promise<Response> {
  await ready;
  return await app.fetch(request);
}

interface FetchEvent extends Event {
  request: Request;
  respondWith(response: Promise<Response>): void;
}
(globalThis as unknown as { addEventListener(type: "fetch", fn: (event: FetchEvent) => void): void })
  .addEventListener("fetch", (event) => event.respondWith(handler(event.request)));
