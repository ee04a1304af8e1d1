/**
 * A products API as a Cloudflare Worker whose cache is shared through a Durable Object: `cacheRead` with tags,
 * invalidation by tag on writes, Hono for routing. Run it locally (workerd) with one command:
 *
 *   cd examples/cloudflare && npx wrangler dev                      # every key in the Durable Object
 *   cd examples/cloudflare && npx wrangler dev -c wrangler.kv.toml  # entry bodies in Workers KV
 *
 * Then `curl localhost:8787/products/1` (MISS, then HIT), `curl -X PUT localhost:8787/products/1 -d
 * '{"price":12}'` (invalidates `product:1`), `curl -X POST localhost:8787/products/invalidate` (all of them),
 * `curl localhost:8787/metrics`; `/tiered/products/1` adds this data center's Cache API in front (1.5 s bound).
 * The Durable Object class is exported below and bound in wrangler.toml.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { cacheRead, getMetrics, initCache, invalidateTags } from "../../mod.ts";
import {
  cacheApiTier,
  cloudflareStore,
  type DurableObjectNamespaceLike,
  durableObjectStore,
  type KvNamespaceLike,
  purgeCacheApi,
} from "../../adapters/cloudflare.ts";
export { CacheObject } from "../../adapters/cloudflare.ts";

interface Env {
  CACHE: DurableObjectNamespaceLike;
  /** Bound by wrangler.kv.toml: entry bodies go to KV, the rest stays in the object. */
  KV?: KvNamespaceLike;
}

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
  props: unknown;
}

interface Product {
  id: number;
  name: string;
  price: number;
}

/** The "database": per isolate, as in a demo; the cache is what is shared. */
const products = new Map<number, Product>([
  [1, { id: 1, name: "Kettle", price: 10 }],
  [2, { id: 2, name: "Teapot", price: 25 }],
]);
let loads = 0;

const getProduct = cacheRead(
  { key: "product:{id}", tags: ["product:{id}", "products"], ttl: 3600 },
  async ({ id }: { id: number }) => {
    loads++;
    await new Promise((r) => setTimeout(r, 20)); // database latency
    return products.get(id) ?? null;
  },
);

const app = new Hono<{ Bindings: Env }>();

/** Reads a product through the cache, with its `x-cache` status. */
async function productResponse(c: Context<{ Bindings: Env }>): Promise<Response> {
  let status = "MISS";
  const product = await getProduct({ id: Number(c.req.param("id")) }, {
    waitUntil: (p) => c.executionCtx.waitUntil(p),
    onResult: (result) => status = result.status.toUpperCase(),
  });
  c.header("x-cache", status);
  return product ? c.json(product) : c.json({ error: "not found" }, 404);
}

app.get("/products/:id", productResponse);

// The same, answered from this data center's Cache API while the copy is younger than 1.5 s: writes made
// elsewhere are seen here within that bound (writes made here purge it at once, below).
app.get("/tiered/products/:id", cacheApiTier({ maxStaleMs: 1500 }), productResponse);

app.put("/products/:id", async (c) => {
  const id = Number(c.req.param("id"));
  const product = { ...products.get(id), ...(await c.req.json()), id } as Product;
  products.set(id, product);
  const { delivered } = await invalidateTags(`product:${id}`);
  await purgeCacheApi(new URL(`/tiered/products/${id}`, c.req.url).href); // read-your-writes in this data center
  return c.json({ product, delivered });
});

// Invalidates every product in the shared cache only, as a write in another data center would.
app.post("/products/invalidate", async (c) => c.json(await invalidateTags("products")));

app.get("/metrics", (c) => c.json({ ...getMetrics(), loads }));

let ready: Promise<void> | undefined;

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    // Bindings arrive with the first request: the cache is configured then, once per isolate.
    ready ??= initCache({
      store: env.KV
        ? cloudflareStore({ durableObject: env.CACHE, kv: env.KV })
        : durableObjectStore(env.CACHE),
      prefix: "products",
    });
    await ready;
    return app.fetch(request, env, ctx);
  },
};
