// Type-checked against the package's .d.ts by the test suite (tsc 5, moduleResolution node16 and bundler).
import {
  type CachedFunction,
  cacheRead,
  cacheWrite,
  createCache,
  initCache,
  negativeCache,
  resource,
} from "@svc-infra/cache";
import { twoLevel } from "@svc-infra/cache/l1";
import { sealed } from "@svc-infra/cache/integrity";
import { otel } from "@svc-infra/cache/telemetry";
import { memoryStore } from "@svc-infra/cache/adapters/memory";
import { cacheResponse, invalidateOnWrite } from "@svc-infra/cache/hono";
import { type Context, Hono } from "hono";

await initCache({ store: memoryStore({ maxEntries: 100 }), prefix: "typed" });

const getUser: CachedFunction<{ userId: number }, { name: string } | ReturnType<typeof negativeCache>> =
  cacheRead(
    { key: "user:{userId}", tags: ["user:{userId}"], ttl: 60 },
    ({ userId }: { userId: number }) => userId > 0 ? { name: "Ada" } : negativeCache({ ttl: 10 }),
  );
// @ts-expect-error the key names a property the argument lacks
cacheRead({ key: "user:{id}" }, ({ userId }: { userId: number }) => userId);

const update = cacheWrite(
  { tags: ["user:{userId}"] },
  ({ userId }: { userId: number; name: string }) => userId,
);
const product = resource("product", "productId");
const getProduct = product.cacheRead(
  { suffix: "details", ttl: 60 },
  ({ productId }: { productId: string }) => productId,
);

// The middleware's own context type fits Hono's routes; callbacks may take Hono's whole Context.
const app = new Hono<{ Variables: { tenant: string } }>();
app.get(
  "/users/:id",
  cacheResponse({ key: "user:{id}", ttl: 60, identity: (c: Context) => c.req.header("x-user") }),
  (c) => c.json({ id: c.req.param("id") }),
);
app.use("/t/*", cacheResponse({ key: (c: Context<{ Variables: { tenant: string } }>) => c.get("tenant") }));
app.put("/users/:id", invalidateOnWrite({ tags: ["user:{id}"] }), (c) => c.json({ ok: true }));
// @ts-expect-error an option the middleware does not have
cacheResponse({ tll: 60 });

// Features are values from their own entry points; each option takes only its own.
const featured = createCache({
  l1: twoLevel({ maxStaleMs: 500 }),
  integrity: sealed({ signingKeys: [new Uint8Array(32)] }),
  telemetry: otel({ spans: "none" }),
});
// @ts-expect-error the old form: l1 takes twoLevel()
createCache({ l1: true });
// @ts-expect-error a feature given to another option
createCache({ l1: otel() });

export const used = [getUser, update, getProduct, app, featured];
