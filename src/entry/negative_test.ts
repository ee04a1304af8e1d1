import assert from "node:assert/strict";
import {
  cacheRead,
  createCache,
  getMetrics,
  isNegativeCacheResult,
  negativeCache,
  unwrapNegativeCacheResult,
} from "../../mod.ts";
import { freshCache } from "../../tests/_helpers.ts";

Deno.test("negative: a not-found is cached for its own ttl, not the function's", async () => {
  const { clock } = await freshCache();
  let loads = 0;
  const get = cacheRead({ key: "user:{userId}", ttl: 3600 }, ({ userId }: { userId: number }) => {
    loads++;
    return userId === 1 ? { name: "Ada" } : negativeCache({ ttl: 60, value: null });
  });
  const first = await get({ userId: 2 });
  assert.ok(isNegativeCacheResult(first));
  assert.equal(unwrapNegativeCacheResult(first), null);
  const second = await get({ userId: 2 });
  assert.ok(isNegativeCacheResult(second));
  assert.equal(second.ttl, 60);
  assert.equal(loads, 1);
  clock.advance(60_000);
  await get({ userId: 2 });
  assert.equal(loads, 2);
  assert.equal(getMetrics()["cache.negative"], 1);
  assert.equal(unwrapNegativeCacheResult({ name: "x" }).name, "x");
  assert.ok(!isNegativeCacheResult({ name: "Ada" }));
});

Deno.test("negative: keeps its value and rejects a bad ttl", async () => {
  await freshCache();
  const get = cacheRead(
    { key: "gone", ttl: 10 },
    () => negativeCache({ ttl: 5, value: { reason: "deleted" } }),
  );
  await get();
  assert.deepEqual(unwrapNegativeCacheResult(await get()), { reason: "deleted" });
  assert.throws(() => negativeCache({ ttl: -1 }), RangeError);
  // Seconds only: a TTL name would be stored as NaN, so nothing would ever be cached.
  assert.throws(() => negativeCache({ ttl: "short" as never }), {
    name: "RangeError",
    message: /ttl must be seconds >= 0, current value is the string "short"/,
  });
});

Deno.test("negative: a misspelt option is a TypeError naming the known one", () => {
  const typo = { ttl: 5, valeu: "gone" } as { ttl: number };
  assert.throws(
    () => negativeCache(typo),
    /unknown option "valeu"; did you mean "value"\?/,
  );
});

Deno.test("negative: a missing ttl is a TypeError; set stores a negative result as a load does", async () => {
  assert.throws(() => negativeCache({ value: null } as never), /ttl \(seconds\) is required/);
  const cache = await createCache();
  await cache.set("u:9", negativeCache({ ttl: 60, value: null }));
  const stored = await cache.get("u:9");
  assert.ok(isNegativeCacheResult(stored), "kept as a negative result");
  assert.equal(unwrapNegativeCacheResult(stored), null);
  let loads = 0;
  assert.ok(isNegativeCacheResult(await cache.getOrSet("u:9", () => ++loads)));
  assert.equal(loads, 0, "a hit");
  await cache.close();
});
