/**
 * `npx deno serve -A --port 8000 examples/hono/deno.ts`: the users API on Deno, cached in memory, or in the
 * backend CACHE_URL names.
 *
 * @module
 */

import { initCache } from "../../mod.ts";
import { createApp } from "./app.ts";

await initCache({
  url: Deno.env.get("CACHE_URL") || undefined,
  token: Deno.env.get("CACHE_TOKEN") || undefined,
});

export default createApp();
