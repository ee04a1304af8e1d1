/**
 * The seed's users resource behind HTTP: cached reads, writes that invalidate, and a metrics route. The same
 * app runs on Deno (`npx deno serve -A --port 8000 examples/hono/deno.ts`), in Cloudflare Workers
 * (`examples/worker/`) and in Vercel's edge runtime (`npm run edge`); `examples/hono/node.mjs` is its twin on
 * Node, from the npm build. Set CACHE_URL to use Redis, Upstash or Deno KV.
 *
 * @module
 */

import { Hono } from "hono";
import { cacheResponse, invalidateOnWrite, metricsHandler } from "../../src/hono/mod.ts";

interface User {
  userId: number;
  name: string;
}

/** Builds the app over an in-memory "database". */
export function createApp(): Hono {
  const users = new Map<number, User>([[123, { userId: 123, name: "John Doe" }]]);
  const app = new Hono();

  app.get(
    "/users/:id",
    cacheResponse({
      key: "user:{id}:http",
      tags: ["user:{id}"],
      ttl: 3600,
      smoothExpiry: true,
      notFoundTtl: 60,
    }),
    async (c) => {
      await new Promise((r) => setTimeout(r, 20)); // database latency
      const user = users.get(Number(c.req.param("id")));
      return user ? c.json(user) : c.json({ error: "User not found" }, 404);
    },
  );

  app.put("/users/:id", invalidateOnWrite({ tags: ["user:{id}"] }), async (c) => {
    const userId = Number(c.req.param("id"));
    const user = { ...users.get(userId), ...(await c.req.json()), userId } as User;
    users.set(userId, user);
    return c.json(user);
  });

  app.delete("/users/:id", invalidateOnWrite({ tags: ["user:{id}"] }), (c) => {
    return c.json({ deleted: users.delete(Number(c.req.param("id"))) });
  });

  app.get("/metrics", metricsHandler());
  return app;
}

export default createApp();
