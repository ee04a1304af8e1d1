import assert from "node:assert/strict";
import { createCache, type LoaderContext } from "../../mod.ts";

Deno.test("loader context: a soft invalidation's and an early refresh's load see the entry; notModified keeps it", async () => {
  let now = 1_000_000;
  const cache = await createCache({ clock: { now: () => now } });
  const stale: unknown[] = [];
  let loads = 0;
  const load = (ctx: LoaderContext) => {
    loads++;
    stale.push(ctx.stale?.value);
    return ctx.stale ? ctx.notModified() : { v: loads };
  };
  const options = { ttl: 60, staleTtl: 600, earlyTtl: 30, tags: ["s"] };
  assert.deepEqual(await cache.getOrSet("s", load, options), { v: 1 });
  await cache.invalidateTags(["s"], { soft: true });
  assert.equal(await cache.get("s"), undefined, "softly invalidated: not fresh");
  assert.deepEqual(await cache.getOrSet("s", load, options), { v: 1 }, "served stale while it refreshes");
  for (let i = 0; i < 100 && (await cache.get("s")) === undefined; i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.deepEqual(await cache.get("s"), { v: 1 }, "fresh again, with the kept value");
  assert.deepEqual(stale, [undefined, { v: 1 }]);
  now += 31_000; // past earlyTtl: a hit refreshes in the background
  assert.deepEqual(await cache.getOrSet("s", load, options), { v: 1 });
  for (let i = 0; i < 100 && loads < 3; i++) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(stale, [undefined, { v: 1 }, { v: 1 }], "the early refresh saw the entry");
  now += 40_000; // past the first ttl: fresh only because the refresh renewed it
  const before = loads;
  assert.deepEqual(await cache.getOrSet("s", load, options), { v: 1 });
  assert.equal(loads, before, "no load: the kept value is fresh for the refresh's ttl");
  await cache.close();
});

Deno.test("loader context: a ttl-0 function's loader gets one too, with no stale entry", async () => {
  const cache = await createCache();
  let seen: unknown = "unset";
  assert.equal(await cache.getOrSet("z", (ctx) => (seen = ctx.stale, 1), { ttl: 0 }), 1);
  assert.equal(seen, undefined);
  await assert.rejects(cache.getOrSet("z", (ctx) => ctx.notModified(), { ttl: 0 }), TypeError);
  await cache.close();
});

Deno.test("loader context: setTtl takes the seconds every store honours, as ttl does", async () => {
  const cache = await createCache();
  for (const bad of [-1, NaN, 2e12, "60"]) {
    await assert.rejects(cache.getOrSet(`k${bad}`, (ctx) => (ctx.setTtl(bad as never), 1), { ttl: 60 }), {
      name: "RangeError",
      message: /setTtl's ttl must be/,
    });
  }
  assert.equal(await cache.getOrSet("ok", (ctx) => (ctx.setTtl(1e12), 1), { ttl: 60 }), 1);
  assert.equal(await cache.get("ok"), 1, "stored under the longest ttl");
  await cache.close();
});
