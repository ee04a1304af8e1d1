import assert from "node:assert/strict";
import { createCache, isNegativeCacheResult, negativeCache } from "../../mod.ts";

class Money {
  constructor(readonly cents: number) {}
}
const types = {
  Money: [(v: unknown) => v instanceof Money && v.cents, (cents: number) => new Money(cents)],
} as const;

Deno.test("getOrSetMany: a key given twice gets at each place what a hit gives: its own copy, of the same kind", async () => {
  const cache = await createCache({ types });
  const values: Record<string, unknown> = {
    nothing: negativeCache({ ttl: 30 }),
    money: new Money(250),
    plain: { id: 1, tags: ["a"] },
  };
  for (const round of ["miss", "hit"]) {
    let loads = 0;
    const keys = ["nothing", "money", "plain", "nothing", "money", "plain"];
    const got = await cache.getOrSetMany(keys, (missing) => (loads++, missing.map((key) => values[key])), {
      ttl: 60,
    });
    assert.equal(loads, round === "miss" ? 1 : 0, round);
    assert.deepEqual(got.map(isNegativeCacheResult), [true, false, false, true, false, false], round);
    assert.ok(
      got[1] instanceof Money && got[4] instanceof Money,
      `${round}: a registered type at both places`,
    );
    assert.equal((got[4] as Money).cents, 250);
    assert.deepEqual(got[5], values.plain);
    for (const i of [0, 1, 2]) {
      assert.notEqual(got[i], got[i + 3], `${round}: ${keys[i]} is copied, not shared`);
    }
  }
  // A value that cannot be stored is returned at both places (it has no faithful copy), not an error.
  const fn = () => 1;
  const [a, b] = await cache.getOrSetMany(["f", "f"], (missing) => missing.map(() => ({ fn })), { ttl: 60 });
  assert.equal((a as { fn: unknown }).fn, fn);
  assert.equal((b as { fn: unknown }).fn, fn);
  // ttl 0 (nothing cached): still one copy per place.
  const zero = await cache.getOrSetMany(["z", "z"], (missing) => missing.map(() => ({ n: 1 })), { ttl: 0 });
  assert.deepEqual(zero, [{ n: 1 }, { n: 1 }]);
  assert.notEqual(zero[0], zero[1]);
  await cache.close();
});

Deno.test("getOrSetMany: staleTtl and earlyTtl are checked as cacheRead checks them, before anything loads", async () => {
  const cache = await createCache();
  let loads = 0;
  const loader = (missing: string[]) => (loads++, missing);
  for (
    const [options, message] of [
      [{ ttl: 60, earlyTtl: NaN }, /earlyTtl must be seconds >= 0/],
      [{ ttl: 60, earlyTtl: "short" }, /earlyTtl must be seconds >= 0, current value is the string "short"/],
      [{ ttl: 60, earlyTtl: -5 }, /earlyTtl must be seconds >= 0/],
      [{ ttl: 60, earlyTtl: 120 }, /earlyTtl must be less than ttl, current values are 120 and 60/],
      [{ ttl: 60, staleTtl: "long" }, /staleTtl must be seconds >= 0, current value is the string "long"/],
    ] as const
  ) {
    await assert.rejects(cache.getOrSetMany(["k"], loader, options as never), {
      name: "RangeError",
      message,
    });
    assert.throws(() => cache.cacheRead({ key: "k", ...options } as never, () => 1), {
      name: "RangeError",
      message,
    });
  }
  assert.equal(loads, 0);
  assert.deepEqual(await cache.keys("*"), [], "no entry was written");
  await cache.close();
});
