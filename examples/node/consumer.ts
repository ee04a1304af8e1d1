// Type-checked against the package's .d.ts by the test suite (tsc 5, moduleResolution node16 and bundler).
import {
  type CachedFunction,
  cacheRead,
  cacheWrite,
  initCache,
  negativeCache,
  resource,
} from "@svc-infra/cache";
import { memoryStore } from "@svc-infra/cache/adapters/memory";
import { cacheResponse } from "@svc-infra/cache/hono";

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

export const used = [getUser, update, getProduct, cacheResponse({ ttl: 60 })];
