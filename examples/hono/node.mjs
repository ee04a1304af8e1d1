// The users API on Node with @hono/node-server, from the npm build:
//   npm run build && PORT=8000 node examples/hono/node.mjs
// (the same routes as examples/hono/app.ts, which Deno, Workers and the edge run from source).
// CACHE_URL picks the backend, e.g. CACHE_URL=redis://127.0.0.1:6379.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { initCache } from "../../npm/esm/mod.js";
import { cacheResponse, invalidateOnWrite, metricsHandler } from "../../npm/esm/hono.js";

await initCache({ url: process.env.CACHE_URL || undefined });

const users = new Map([[123, { userId: 123, name: "John Doe" }]]);
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
  const user = { ...users.get(userId), ...(await c.req.json()), userId };
  users.set(userId, user);
  return c.json(user);
});
app.get("/metrics", metricsHandler());

const port = Number(process.env.PORT ?? 8000);
serve(
  { fetch: app.fetch, port, hostname: "127.0.0.1" },
  () => console.log(`listening on http://127.0.0.1:${port}`),
);
