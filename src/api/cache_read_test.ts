import assert from "node:assert/strict";
import { cacheRead, getMetrics, initCache, instance, invalidateTags } from "../../mod.ts";
import { deferred, freshCache, settle } from "../../tests/_helpers.ts";

function counted<A, R>(fn: (arg: A) => R | Promise<R>) {
  const calls: A[] = [];
  const loader = async (arg: A) => {
    calls.push(arg);
    return await fn(arg);
  };
  return { calls, loader };
}

Deno.test("read: miss, then hit without calling the loader", async () => {
  await freshCache();
  const { calls, loader } = counted(({ userId }: { userId: number }) => ({ userId, name: "Ada" }));
  const get = cacheRead({ key: "user:{userId}:profile", ttl: 60 }, loader);
  assert.deepEqual(await get({ userId: 1 }), { userId: 1, name: "Ada" });
  assert.deepEqual(await get({ userId: 1 }), { userId: 1, name: "Ada" });
  assert.equal(calls.length, 1);
  await get({ userId: 2 });
  assert.equal(calls.length, 2);
  const m = getMetrics();
  assert.deepEqual([m["cache.hit"], m["cache.miss"], m["cache.load"]], [1, 2, 2]);
});

Deno.test("read: entries expire after ttl by the cache's clock", async () => {
  const { clock } = await freshCache();
  const { calls, loader } = counted(() => "v");
  const get = cacheRead({ key: "static", ttl: 10 }, loader);
  await get();
  clock.advance(9_999);
  await get();
  assert.equal(calls.length, 1);
  clock.advance(1);
  await get();
  assert.equal(calls.length, 2);
});

Deno.test("read: ttl 0 calls the function every time; CACHE_TTL_DEFAULT=0 does too", async () => {
  await freshCache();
  const { calls, loader } = counted(() => 1);
  const get = cacheRead({ key: "zero", ttl: 0 }, loader);
  await get();
  await get();
  assert.equal(calls.length, 2);
  await freshCache({ env: { CACHE_TTL_DEFAULT: "0" } });
  const byDefault = counted(() => 1);
  const getDefault = cacheRead({ key: "default" }, byDefault.loader);
  await getDefault();
  await getDefault();
  assert.equal(byDefault.calls.length, 2);
  assert.equal(getMetrics()["cache.skip"], 2);
});

Deno.test("read: falsy values are values, not misses", async () => {
  await freshCache();
  for (const value of [0, false, "", null, undefined]) {
    const { calls, loader } = counted(() => value);
    const get = cacheRead({ key: `falsy:${String(value)}:{n}`, ttl: 60 }, loader);
    assert.equal(await get({ n: 1 }), value);
    assert.equal(await get({ n: 1 }), value);
    assert.equal(calls.length, 1, String(value));
  }
});

Deno.test("read: Dates, Maps, Sets, BigInt and Uint8Array survive; callers never share objects", async () => {
  await freshCache();
  const rich = () => ({
    at: new Date(86_400_000),
    tags: new Map([["a", new Set([1, 2])]]),
    big: 2n ** 70n,
    bytes: new Uint8Array([1, 2, 255]),
    list: [{ x: 1 }],
  });
  const get = cacheRead({ key: "rich", ttl: 60 }, rich);
  const first = await get();
  const second = await get();
  const third = await get();
  assert.deepEqual(second, rich());
  assert.ok(second.at instanceof Date && second.tags.get("a") instanceof Set);
  second.list[0].x = 99;
  second.tags.clear();
  assert.deepEqual(third, rich());
  assert.notEqual(first, second);
});

Deno.test("read: a value that cannot be serialized is returned, not cached, with one warning", async () => {
  const { logger } = await freshCache();
  const { calls, loader } = counted(() => ({ run: () => 1 }));
  const get = cacheRead({ key: "fn", ttl: 60 }, loader);
  assert.equal(typeof (await get()).run, "function");
  await get();
  assert.equal(calls.length, 2);
  assert.equal(logger.at("warn").filter((m) => m.includes("Cannot cache the result of")).length, 1);
  assert.equal(getMetrics()["cache.error"], 2);
});

Deno.test("read: concurrent misses run the loader once; each caller gets its own copy", async () => {
  await freshCache();
  const gate = deferred<void>();
  const { calls, loader } = counted(async () => {
    await gate.promise;
    return { n: 1 };
  });
  const get = cacheRead({ key: "hot", ttl: 60 }, loader);
  const all = Array.from({ length: 1000 }, () => get());
  gate.resolve();
  const results = await Promise.all(all);
  assert.equal(calls.length, 1);
  assert.equal(new Set(results).size, 1000);
  assert.ok(results.every((r) => r.n === 1));
});

Deno.test("read: a loader error reaches every waiter, is not cached, and frees the key", async () => {
  await freshCache();
  const gate = deferred<void>();
  let fail = true;
  const { calls, loader } = counted(async () => {
    await gate.promise;
    if (fail) throw new Error("db down");
    return "ok";
  });
  const get = cacheRead({ key: "flaky", ttl: 60 }, loader);
  const waiting = [get(), get(), get()].map((p) => p.then(() => "resolved", (e) => e.message));
  gate.resolve();
  assert.deepEqual(await Promise.all(waiting), ["db down", "db down", "db down"]);
  fail = false;
  assert.equal(await get(), "ok");
  assert.equal(calls.length, 2);
});

Deno.test("read: smoothExpiry draws each entry's ttl from ttl ± 10 % at write time", async () => {
  let draw = 0;
  const { clock } = await freshCache({ random: () => draw });
  const loads: string[] = [];
  const get = cacheRead({ key: "j:{id}", ttl: 100, smoothExpiry: true }, ({ id }: { id: string }) => {
    loads.push(id);
    return id;
  });
  draw = 0; // factor 0.9 → 90 s
  await get({ id: "low" });
  draw = 0.9999999; // factor ~1.1 → 110 s
  await get({ id: "high" });
  clock.advance(89_999);
  await get({ id: "low" });
  clock.advance(1);
  await get({ id: "low" });
  assert.deepEqual(loads, ["low", "high", "low"]);
  clock.advance(19_998);
  await get({ id: "high" });
  clock.advance(2);
  await get({ id: "high" });
  assert.deepEqual(loads, ["low", "high", "low", "high"]);
});

Deno.test("read: smoothExpiry spreads lifetimes over [0.9, 1.1] × ttl with the real random source", async () => {
  const { clock } = await freshCache({ random: Math.random });
  const get = cacheRead({ key: "spread:{id}", ttl: 100, smoothExpiry: true }, ({ id }: { id: number }) => id);
  for (let id = 0; id < 200; id++) await get({ id });
  const expiredAt: number[] = [];
  for (let s = 89; s <= 111; s++) {
    clock.advance(s === 89 ? 89_000 : 1000);
    const before = getMetrics()["cache.load"];
    for (let id = 0; id < 200; id++) if (!expiredAt.includes(id)) await get({ id });
    const loaded = getMetrics()["cache.load"] - before;
    for (let i = 0; i < loaded; i++) expiredAt.push(s);
  }
  assert.equal(expiredAt.filter((s) => s < 90 || s > 110).length, 0);
  assert.ok(new Set(expiredAt).size > 10, `lifetimes spread over ${new Set(expiredAt).size} seconds`);
});

Deno.test("read: earlyTtl returns the cached value at once and refreshes once in the background", async () => {
  const { clock } = await freshCache();
  let version = 1;
  const gate = deferred<void>();
  const loads: number[] = [];
  const get = cacheRead({ key: "early", ttl: 100, earlyTtl: 60 }, async () => {
    loads.push(version);
    if (loads.length > 1) await gate.promise;
    return version;
  });
  assert.equal(await get(), 1);
  version = 2;
  clock.advance(61_000);
  const handed: Promise<unknown>[] = [];
  assert.equal(await get(undefined, { waitUntil: (p) => handed.push(p) }), 1);
  assert.equal(await get(), 1);
  assert.equal(await get(), 1);
  assert.equal(loads.length, 2, "one refresh, however many hits");
  assert.equal(handed.length, 1, "the refresh went to waitUntil");
  gate.resolve();
  await handed[0];
  assert.equal(await get(), 2);
  assert.equal(getMetrics()["cache.refresh"], 1);
});

Deno.test("read: earlyTtl >= ttl, bad ttl and a non-function are clear errors", () => {
  assert.throws(
    () => cacheRead({ key: "x", ttl: 10, earlyTtl: 10 }, () => 1),
    /earlyTtl must be less than ttl/,
  );
  assert.throws(() => cacheRead({ key: "x", ttl: -1 }, function getX() {}), /Cannot cache getX: ttl must be/);
  assert.throws(() => cacheRead({ key: "x", ttl: NaN }, () => 1), RangeError);
  assert.throws(() => cacheRead({ key: "x", earlyTtl: -5 }, () => 1), /earlyTtl must be seconds >= 0/);
  assert.throws(() => cacheRead({ key: "x{" }, () => 1), TypeError);
  assert.throws(() => cacheRead({ key: 5 as never }, () => 1), /key must be a template string or a function/);
  assert.throws(() => cacheRead({ key: "x" }, "nope" as never), /expected a function/);
});

Deno.test("read: an earlyTtl not below the ttl its call resolves (named, default, setTtl) is warned once", async () => {
  const { logger } = await freshCache({ env: { CACHE_TTL_SHORT: "20" } });
  const named = cacheRead(
    { key: "n:{id}", ttl: "short", earlyTtl: 30 },
    function getNamed({ id }: { id: number }) {
      return id;
    },
  );
  const byDefault = cacheRead({ key: "d", earlyTtl: 300 }, function getDefault() {
    return 1;
  });
  const lowered = cacheRead({ key: "l", ttl: 600, earlyTtl: 60 }, function getLowered(_: void, ctx) {
    ctx.setTtl(10);
    return 1;
  });
  const fine = cacheRead({ key: "f", ttl: "short", earlyTtl: 10 }, function getFine() {
    return 1;
  });
  await named({ id: 1 }), await named({ id: 2 }), await byDefault(), await lowered(), await fine();
  const warned = logger.at("warn").filter((line) => line.includes("earlyTtl"));
  assert.equal(warned.length, 3, warned.join("\n"));
  assert.match(warned[0], /earlyTtl of getNamed \(30 s\) is not below the ttl of its result \(20 s\)/);
  assert.match(warned[1], /getDefault \(300 s\).*\(300 s\)/);
  assert.match(warned[2], /getLowered \(60 s\).*\(10 s\)/);
  assert.equal(getMetrics()["cache.miss"], 5, "every call loaded and stored");
});

Deno.test("read: a plain-JS call lacking a key property is a TypeError naming function and property", async () => {
  await freshCache();
  const get = cacheRead({ key: "user:{userId}" }, function getUser(_: { userId: number }) {
    return 1;
  });
  await assert.rejects(() => (get as (a: unknown) => Promise<number>)({ id: 1 }), {
    name: "TypeError",
    message: /getUser: the argument has no property "userId"/,
  });
  await assert.rejects(() => (get as (a: unknown) => Promise<number>)(7), /expected an object argument/);
});

Deno.test("read: key templates are checked by the type system", () => {
  // @ts-expect-error: the argument has no `id`
  cacheRead({ key: "user:{id}" }, ({ userId }: { userId: number }) => userId);
  cacheRead({ key: "user:{userId}" }, ({ userId }: { userId: number }) => userId);
});

Deno.test("read: tags are versioned; invalidating user:1 never touches user:10", async () => {
  await freshCache();
  const { calls, loader } = counted(({ userId }: { userId: number }) => userId);
  const get = cacheRead({ key: "u:{userId}", tags: ["user:{userId}"], ttl: 60 }, loader);
  await get({ userId: 1 });
  await get({ userId: 10 });
  await invalidateTags("user:1");
  await get({ userId: 1 });
  await get({ userId: 10 });
  assert.deepEqual(calls.map((c) => c.userId), [1, 10, 1]);
});

Deno.test("read: tag functions are used verbatim; several tags, any one invalidates", async () => {
  await freshCache();
  const { calls, loader } = counted(({ userId }: { userId: number }) => userId);
  const get = cacheRead(
    { key: "posts:{userId}", tags: ({ userId }) => [`user:${userId}`, "posts"], ttl: 60 },
    loader,
  );
  await get({ userId: 1 });
  await invalidateTags("posts");
  await get({ userId: 1 });
  await invalidateTags("user:1");
  await get({ userId: 1 });
  await get({ userId: 1 });
  assert.equal(calls.length, 3);
});

Deno.test("read: a load that started before an invalidation is never served after it", async () => {
  await freshCache();
  const gate = deferred<string>();
  let loads = 0;
  const get = cacheRead({ key: "race", tags: ["t"], ttl: 60 }, () => {
    loads++;
    return loads === 1 ? gate.promise : "new";
  });
  const slow = get();
  while (loads === 0) await settle(); // the load has started
  await invalidateTags("t");
  const afterInvalidation = get();
  gate.resolve("old");
  assert.equal(await slow, "old");
  assert.equal(await afterInvalidation, "new", "a caller after the invalidation does not join the old load");
  assert.equal(await get(), "new");
  assert.equal(loads, 2);
});

Deno.test("read: a lost tag version means a miss, never a stale read", async () => {
  await freshCache();
  const { calls, loader } = counted(() => "v");
  const get = cacheRead({ key: "lost", tags: ["t"], ttl: 60 }, loader);
  await get();
  const store = instance().store;
  await store.deleteMany([`${instance().keyPrefix}t:t`]);
  await get();
  await get();
  assert.equal(calls.length, 2);
});

Deno.test("read: a tag template naming a missing property warns once and skips that tag", async () => {
  const { logger } = await freshCache();
  const get = cacheRead(
    { key: "k:{a}", tags: ["x:{b}", "y:{a}"], ttl: 60 },
    (_: { a: number; b?: number }) => 1,
  );
  await get({ a: 1 });
  await get({ a: 2 });
  const warnings = logger.at("warn").filter((m) => m.includes('no property "b"'));
  assert.equal(warnings.length, 1);
});

Deno.test("read: more than the argument and the loader's context warns once per function", async () => {
  const { logger } = await freshCache();
  cacheRead({ key: "two" }, function getTwo(_a: unknown, _ctx: unknown) {
    return 1;
  });
  cacheRead({ key: "three" }, function getThree(_a: unknown, _b?: unknown, _c?: unknown) {
    return 1;
  } as never);
  assert.equal(logger.at("warn").filter((m) => m.includes("declares")).length, 1);
  assert.equal(logger.at("warn").filter((m) => m.includes("getThree declares 3 parameters")).length, 1);
});

Deno.test("read: namespace is resolved at call time; prefixes and versions isolate", async () => {
  const loads: string[] = [];
  const get = cacheRead({ key: "ns", ttl: 60 }, () => {
    loads.push("x");
    return loads.length;
  });
  const { clock } = await freshCache();
  await initCache({ prefix: "app", version: "v1", clock });
  assert.equal(await get(), 1);
  assert.deepEqual(await instance().keys(), ["ns"]);
  assert.ok((await instance().store.scan!("app:v1:e:")).includes("app:v1:e:ns"));
  const store = instance().store;
  await initCache({ store, prefix: "app", version: "v2", clock });
  assert.equal(await get(), 2, "a new version starts empty");
  await initCache({ store, prefix: "app", version: "v1", clock });
  assert.equal(await get(), 1, "the old version is still there");
});

Deno.test("read: refresh stores a fresh value; invalidate removes one entry; key shows it", async () => {
  await freshCache();
  let n = 0;
  const get = cacheRead({ key: "item:{id}", ttl: 60 }, ({ id }: { id: number }) => `${id}-${++n}`);
  assert.equal(get.key({ id: 5 }), "item:5");
  assert.equal(await get({ id: 5 }), "5-1");
  assert.equal(await get.refresh({ id: 5 }), "5-2");
  assert.equal(await get({ id: 5 }), "5-2");
  assert.equal(await get({ id: 5 }, { force: true }), "5-3");
  await get.invalidate({ id: 5 });
  assert.equal(await get({ id: 5 }), "5-4");
});

Deno.test("read: a caller's signal aborts its own wait, not the shared load", async () => {
  await freshCache();
  const gate = deferred<string>();
  const get = cacheRead({ key: "abort", ttl: 60 }, () => gate.promise);
  const controller = new AbortController();
  const mine = get(undefined, { signal: controller.signal });
  const other = get();
  controller.abort(new Error("client went away"));
  await assert.rejects(mine, /client went away/);
  gate.resolve("v");
  assert.equal(await other, "v");
});

Deno.test("read: works as a TC39 method decorator with `this`", async () => {
  await freshCache();
  class Repo {
    loads = 0;
    @cacheRead({ key: "repo:{id}", ttl: 60 })
    find({ id }: { id: number }) {
      this.loads++;
      return Promise.resolve({ id });
    }
  }
  const repo = new Repo();
  await repo.find({ id: 1 });
  await repo.find({ id: 1 });
  assert.equal(repo.loads, 1);
});

Deno.test("read: CACHE_DEBUG lines use the seed's format", async () => {
  const { logger } = await freshCache({ debug: true });
  const get = cacheRead(
    { key: "user:{userId}:profile", ttl: 3600 },
    ({ userId }: { userId: number }) => userId,
  );
  await get({ userId: 123 });
  await get({ userId: 123 });
  const lines = logger.at("debug");
  assert.ok(
    lines.some((l) =>
      /^\[MISS\] key=user:123:profile duration_ms=\d+\.\dms ttl=3600 cause=cache_miss$/.test(l)
    ),
  );
  assert.ok(lines.some((l) => /^\[HIT\] key=user:123:profile duration_ms=\d+\.\dms ttl=3600$/.test(l)));
});

Deno.test("read: a misspelt call option is a TypeError naming the known one, on a hit too", async () => {
  await freshCache();
  const { calls, loader } = counted(() => "v");
  const get = cacheRead({ key: "typo", ttl: 60 }, loader);
  assert.equal(await get(undefined, { force: true }), "v");
  // A hit would otherwise answer before `forse` could matter: the typo must not pass silently.
  // @ts-expect-error: the typo under test
  await assert.rejects(get(undefined, { forse: true }), /unknown option "forse"; did you mean "force"\?/);
  assert.equal(calls.length, 1);
});
