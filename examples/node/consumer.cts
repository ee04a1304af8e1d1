// A CommonJS TypeScript consumer (`.cts`, so `import` compiles to `require`), type-checked by the test suite
// with tsc 5 under moduleResolution node16 and node10: the package's `.d.cts` types must serve `require`.
import { type CachedFunction, cacheRead, initCache, TTL_SHORT } from "@svc-infra/cache";
import { memoryStore } from "@svc-infra/cache/adapters/memory";
import { cacheResponse } from "@svc-infra/cache/hono";
import { twoLevel } from "@svc-infra/cache/l1";

async function main(): Promise<void> {
  await initCache({ store: memoryStore({ maxEntries: 100 }), prefix: "typed-cjs", l1: twoLevel() });
  const getUser: CachedFunction<{ userId: number }, { name: string }> = cacheRead(
    { key: "user:{userId}", ttl: TTL_SHORT },
    ({ userId }: { userId: number }) => ({ name: `user ${userId}` }),
  );
  const name: string = (await getUser({ userId: 1 })).name;
  console.log(name, typeof cacheResponse);
}

void main();
