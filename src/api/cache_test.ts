import assert from "node:assert/strict";
import {
  type Cache,
  createCache,
  getMetrics,
  initCache,
  instance,
  resetMetrics,
  type SetOptions,
} from "../../mod.ts";
import { memoryStore } from "../store/memory_store.ts";
import { deferred, RecordingLogger } from "../../tests/_helpers.ts";
import { faultStore } from "../testing/fault_store.ts";
import fc from "fast-check";
import { globMatcher } from "./listing.ts";

Deno.test("cache: getOrSet's type is the loader's; bad keys, tags and option names are TypeErrors", async () => {
  const cache = await createCache();
  const n: number = await cache.getOrSet("n", () => 1);
  const s: string = await cache.getOrSet("s", async () => await Promise.resolve("x"));
  // @ts-expect-error the loader returns a number
  const wrong: string = await cache.getOrSet("n2", () => 2);
  assert.deepEqual([n, s, wrong], [1, "x", 2]);
  await assert.rejects(cache.getOrSet("", () => 1), /Cannot cache: the key must be a non-empty/);
  await assert.rejects(
    cache.getOrSet("k", () => 1, { tags: "t" as unknown as string[] }),
    /tags must be an array of strings/,
  );
  await assert.rejects(cache.getOrSet("k", () => 1, { tll: 60 } as never), /did you mean "ttl"\?/);
  await assert.rejects(cache.get(7 as unknown as string), /Cannot get: the key must be/);
  await assert.rejects(cache.invalidateTags("t" as unknown as string[]), /tags must be an array/);
  class Money {
    constructor(readonly cents: number) {}
  }
  await assert.rejects(cache.set("m", new Money(5)), TypeError, "a value that cannot be stored is an error");
  await cache.close();
});

Deno.test("cache: concurrent getOrSet callers share one load; delete during the load is not undone", async () => {
  const cache = await createCache();
  let loads = 0;
  const gate = deferred<void>();
  const load = async () => (loads++, await gate.promise, loads);
  const callers = Array.from({ length: 100 }, () => cache.getOrSet("k", load, { ttl: 60 }));
  await new Promise((r) => setTimeout(r, 5));
  await cache.delete("k"); // lands while the load is in flight
  gate.resolve();
  assert.deepEqual(new Set(await Promise.all(callers)), new Set([1]));
  assert.equal(loads, 1);
  assert.equal(await cache.get("k"), undefined, "the load that lost to the delete did not store");
  assert.equal(await cache.getOrSet("k", load, { ttl: 60 }), 2);
  await cache.close();
});

Deno.test("cache: a soft invalidation serves the old value once, then callers join the one refresh", async () => {
  const cache = await createCache();
  let version = 1;
  const gate = deferred<void>();
  const load = async () => version === 1 ? 1 : (await gate.promise, version);
  const options = { ttl: 60, staleTtl: 600, tags: ["t"] };
  await cache.getOrSet("k", load, options);
  version = 2;
  await cache.invalidateTags(["t"], { soft: true });
  const reads = Array.from({ length: 10 }, () => cache.getOrSet("k", load, options));
  await new Promise((r) => setTimeout(r, 5));
  gate.resolve();
  const values = await Promise.all(reads);
  assert.equal(values.filter((v) => v === 1).length, 1, `one stale read, got ${values}`);
  assert.equal(values.filter((v) => v === 2).length, 9);
  await cache.close();
});

Deno.test("cache: instances keep their own entries and metrics; the default instance is initCache's", async () => {
  await initCache();
  resetMetrics();
  const a = await createCache(), b = await createCache({ store: memoryStore() });
  await a.set("k", "a");
  assert.equal(await a.get("k"), "a");
  assert.equal(await b.get("k"), undefined);
  assert.equal(await instance().get("k"), undefined);
  assert.equal(a.metrics()["cache.load"], 1, "set stores through a load");
  assert.equal(getMetrics()["cache.load"], 0, "the default cache counted nothing");
  await instance().set("k", "default", { ttl: 60 });
  assert.equal(await instance().get("k"), "default");
  assert.equal(getMetrics()["cache.load"], 1);
  await initCache({ prefix: "other" });
  assert.equal(await instance().get("k"), undefined, "instance() follows initCache");
  await Promise.all([a.close(), b.close(), instance().close()]);
});

Deno.test("cache: getOrSetMany loads only the missing keys, in one call, in order; a Map answer works", async () => {
  const cache = await createCache();
  await cache.set("user:2", { id: 2, cached: true }, { ttl: 60, tags: ["user:2"] });
  const asked: string[][] = [];
  const users = await cache.getOrSetMany(
    ["user:1", "user:2", "user:3", "user:1"],
    (missing) => (asked.push(missing), missing.map((key) => ({ id: Number(key.slice(5)) }))),
    { ttl: 60, tags: (key) => [key] },
  );
  assert.deepEqual(users, [{ id: 1 }, { id: 2, cached: true }, { id: 3 }, { id: 1 }]);
  assert.deepEqual(asked, [["user:1", "user:3"]]);
  assert.notEqual(users[0], users[3], "a repeated key gets its own copy");
  const again = await cache.getOrSetMany(["user:3", "user:4"], (missing) => {
    asked.push(missing);
    return new Map(missing.map((key) => [key, { id: Number(key.slice(5)), map: true }]));
  }, { ttl: 60, tags: (key) => [key] });
  assert.deepEqual(again, [{ id: 3 }, { id: 4, map: true }]);
  assert.deepEqual(asked[1], ["user:4"]);
  await cache.invalidateTags(["user:3"]);
  assert.equal(await cache.get("user:3"), undefined, "tags given as a function of the key");
  assert.deepEqual(await cache.get("user:1"), { id: 1 });
  await cache.close();
});

Deno.test("cache: getOrSetMany with too few values is a TypeError naming the keys, and caches nothing", async () => {
  const cache = await createCache();
  await assert.rejects(
    cache.getOrSetMany(["a", "b", "c"], () => [1]),
    /the loader returned no value for 2 keys \("b", "c"\); nothing was cached/,
  );
  await assert.rejects(cache.getOrSetMany(["a"], () => new Map()), /no value for 1 key \("a"\)/);
  await assert.rejects(cache.getOrSetMany(["a"], () => [1, 2]), /returned 2 values for 1 keys/);
  assert.equal(await cache.has("a"), false);
  assert.deepEqual(await cache.getOrSetMany(["a", "b"], (m) => m.map((k) => k + "!")), ["a!", "b!"]);
  await cache.close();
});

Deno.test("cache: overlapping getOrSetMany calls and single reads share loads; an invalidation mid-load wins", async () => {
  const cache = await createCache();
  const gate = deferred<void>();
  const asked: string[][] = [];
  const load = async (
    missing: string[],
  ) => (asked.push(missing), await gate.promise, missing.map((k) => `v:${k}`));
  const first = cache.getOrSetMany(["1", "2", "3"], load, { ttl: 60, tags: ["batch"] });
  await new Promise((r) => setTimeout(r, 5));
  const second = cache.getOrSetMany(["2", "3", "4"], load, { ttl: 60, tags: ["batch"] });
  const single = cache.getOrSet("2", () => "single", { ttl: 60, tags: ["batch"] });
  await new Promise((r) => setTimeout(r, 5));
  gate.resolve();
  assert.deepEqual(await first, ["v:1", "v:2", "v:3"]);
  assert.deepEqual(await second, ["v:2", "v:3", "v:4"]);
  assert.equal(await single, "v:2", "a single read joined the batch's load");
  assert.deepEqual(asked, [["1", "2", "3"], ["4"]]);

  const held = deferred<void>();
  const slow = cache.getOrSetMany(["x"], async (m) => (await held.promise, m.map(() => "old")), {
    ttl: 60,
    tags: ["x"],
  });
  await new Promise((r) => setTimeout(r, 5));
  await cache.invalidateTags(["x"]);
  held.resolve();
  assert.deepEqual(await slow, ["old"], "the caller gets its own load");
  assert.equal(await cache.get("x"), undefined, "but it did not store over the invalidation");
  await cache.close();
});

class Money {
  constructor(readonly cents: number, readonly currency: string) {}
  format(): string {
    return `${(this.cents / 100).toFixed(2)} ${this.currency}`;
  }
}
const moneyType = {
  Money: [
    (v: unknown) => v instanceof Money && [v.cents, v.currency],
    ([cents, currency]: [number, string]) => new Money(cents, currency),
  ],
} as const;

Deno.test("cache: registered types round-trip class instances (createCache and initCache); bad types are TypeErrors", async () => {
  const cache = await createCache({ types: moneyType });
  let loads = 0;
  const load = () => (loads++, { total: new Money(1250, "EUR"), at: new Date(0) });
  await cache.getOrSet("order", load, { ttl: 60 });
  const hit = await cache.getOrSet("order", load, { ttl: 60 });
  assert.equal(loads, 1);
  assert.ok(hit.total instanceof Money, "revived as the class");
  assert.equal(hit.total.format(), "12.50 EUR");
  await cache.set("price", new Money(5, "USD"));
  assert.equal((await cache.get<Money>("price"))?.format(), "0.05 USD");
  await cache.close();

  await initCache({ types: moneyType });
  const price = instance();
  await price.set("p", new Money(1, "GBP"));
  assert.ok((await price.get("p")) instanceof Money);
  await initCache();
  await assert.rejects(price.set("p", new Money(1, "GBP")), TypeError, "without the type: refused");
  await assert.rejects(createCache({ types: { Money: [() => 1] } as never }), /expected \[reduce, revive\]/);
  await assert.rejects(createCache({ typez: {} } as never), /did you mean "types"\?/);
});

Deno.test("cache: bound cacheWrite and resource invalidate their own instance; pending invalidations stay per instance", async () => {
  const down = faultStore(memoryStore());
  const failing = await createCache({ store: down, deadlineMs: 50, logger: new RecordingLogger() });
  const healthy = await createCache();
  const user = healthy.resource("user", "userId");
  let loads = 0;
  const read = user.cacheRead(
    { suffix: "profile", ttl: 60 },
    ({ userId }: { userId: number }) => (loads++, userId),
  );
  const write = healthy.cacheWrite({ tags: ["user:{userId}"] }, (_: { userId: number }) => "saved");
  await read({ userId: 1 });
  await write({ userId: 1 });
  await read({ userId: 1 });
  assert.equal(loads, 2, "the bound write invalidated the bound resource's entry");
  assert.equal(await user.cacheWrite(({ userId }: { userId: number }) => userId)({ userId: 1 }), 1);
  await read({ userId: 1 });
  assert.equal(loads, 3, "the resource's own write too");

  down.fault = { mode: "throw" };
  const result = await failing.invalidateTags(["user:1"]);
  assert.equal(result.delivered, false, "queued on the failing instance");
  assert.equal(failing.metrics()["cache.invalidate.pending"], 1);
  assert.equal(healthy.metrics()["cache.invalidate.pending"], 0, "not the other instance's");
  assert.equal(getMetrics()["cache.invalidate.pending"], 0, "nor the default one's");
  down.fault = { mode: "none" };
  // The retries run on unreferenced timers (they never hold a process): this test's timer keeps it alive.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise((r) => timer = setTimeout(r, 2000, "timeout"));
  assert.notEqual(await Promise.race([result.landed, bound]), "timeout");
  clearTimeout(timer);
  assert.equal(failing.metrics()["cache.invalidate.pending"], 0, "delivered once the store answers");
  await Promise.all([failing.close(), healthy.close()]);
});

Deno.test("cache: keys() globs match as the regular expression of their .* would, in linear time", () => {
  const reference = (pattern: string) =>
    new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
  const text = (chars: string[]) =>
    fc.array(fc.constantFrom(...chars), { maxLength: 8 }).map((a) => a.join(""));
  fc.assert(
    fc.property(text(["a", "b", "*", ".", "("]), text(["a", "b", ".", "("]), (pattern, key) => {
      assert.equal(globMatcher(pattern)(key), reference(pattern).test(key), `${pattern} on ${key}`);
    }),
    { numRuns: 5000 },
  );
  const started = performance.now();
  assert.equal(globMatcher(`${"*a".repeat(40)}*b`)("a".repeat(10_000)), false);
  assert.ok(performance.now() - started < 1000);
});

Deno.test("cache: getMany reads what get reads, with one request for the entries and one for their versions", async () => {
  const store = faultStore(memoryStore()); // remote to the cache: every read is a request
  const cache = await createCache({ store });
  await cache.set("a", 1, { tags: ["x"] });
  await cache.set("b", 2, { tags: ["y"] });
  await cache.set("c", 3, { tags: ["x", "y"] });
  await cache.invalidateTags(["y"]);
  const calls = store.calls;
  assert.deepEqual(await cache.getMany(["a", "b", "c", "none", "a"]), [
    1,
    undefined,
    undefined,
    undefined,
    1,
  ]);
  assert.equal(store.calls - calls, 2, "one read of the entries, one of their versions");
  await assert.rejects(cache.getMany([""]), /Cannot get: the key must be a non-empty/);
  await assert.rejects(cache.getMany("a" as unknown as string[]), /Cannot get: keys must be an array/);
  await cache.close();
});

Deno.test("cache: namespaces named from data stay bounded in memory; a forgotten one reads its entries", async () => {
  const cache = await createCache({ store: memoryStore({ maxEntries: 50_000 }) });
  for (let i = 0; i < 12_000; i++) await cache.namespace(`tenant${i}`).set("k", i, { ttl: 60 });
  assert.deepEqual(
    [await cache.namespace("tenant0").get("k"), await cache.namespace("tenant11999").get("k")],
    [0, 11999],
  );
  await cache.close();
});

Deno.test("cache: clear() on the memory store scans nothing and writes nothing, at any entry count; a load in flight in another instance does not store", async () => {
  const store = memoryStore({ maxEntries: 200_000 });
  const calls: string[] = [];
  const counted = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== "function" || name === "peek" || name === "peekDerived" || name === "peekSlot") {
        return value;
      }
      return (...args: unknown[]) => (calls.push(String(name)), value.apply(target, args));
    },
  });
  const a = await createCache({ store: counted }), b = await createCache({ store: counted });
  const users = a.namespace("users");
  let loads = 0;
  const read = users.cacheRead({ key: "r:{id}", ttl: 60 }, ({ id }: { id: number }) => (loads++, id));
  await read({ id: 1 });
  await read({ id: 1 }); // a hit through the store slot the function remembers
  for (let i = 0; i < 20_000; i++) await a.set(`k${i}`, i, { ttl: 60 });
  await users.set("u", 1, { ttl: 60 });
  const gate = deferred<number>();
  const inFlight = b.getOrSet("slow", () => gate.promise, { ttl: 60 });
  await new Promise((resolve) => setTimeout(resolve, 10)); // its marker is written
  calls.length = 0;
  await a.clear();
  assert.deepEqual(calls, ["clearScope"], "one call, no scan and no delete");
  gate.resolve(7);
  assert.equal(await inFlight, 7, "the caller gets its load");
  assert.deepEqual(
    [await a.get("k0"), await a.get("k19999"), await users.get("u"), await b.get("slow")],
    [undefined, undefined, undefined, undefined],
    "every entry, the namespace's, and the load that was in flight are misses",
  );
  assert.equal(loads, 1);
  await read({ id: 1 });
  assert.equal(loads, 2, "a cached function's remembered slot is not served after the clear");
  await a.set("k0", "again", { ttl: 60 });
  assert.equal(await b.get("k0"), "again", "and stores again after the clear");
  await a.close();
  await b.close();
});

Deno.test("cache: getOrSet without a loader function is a TypeError naming the key, on a hit too", async () => {
  const cache = await createCache();
  await cache.set("k", 1);
  await assert.rejects(
    cache.getOrSet("k", undefined as never),
    /Cannot cache "k": expected a loader function/,
  );
  await assert.rejects(
    cache.getOrSet("missing", 5 as never),
    /expected a loader function, current value is number/,
  );
  await cache.close();
});

Deno.test("cache: of overlapping sets of a key, the one called last stays where the store answers in order", async () => {
  for (const store of [memoryStore(), faultStore(memoryStore())]) {
    const cache = await createCache({ store });
    await cache.set("k", "initial", { ttl: 60 });
    await Promise.all([cache.set("k", "first", { ttl: 60 }), cache.set("k", "second", { ttl: 60 })]);
    assert.equal(await cache.get("k"), "second", store.name);
    await Promise.all(Array.from({ length: 8 }, (_, i) => cache.set("m", `v${i}`, { ttl: 60 })));
    assert.equal(await cache.get("m"), "v7", store.name);
    await cache.close();
  }
});

Deno.test("cache: set of a value whose entry is larger than the store accepts is a RangeError naming the limit; a value set accepts is stored", async () => {
  const cache = await createCache({ store: memoryStore({ maxValueBytes: 1000 }) });
  await cache.set("k", "small");
  await assert.rejects(cache.set("k", "x".repeat(2000)), {
    name: "RangeError",
    message:
      /^Cannot set "k": the memory store takes entries of at most 1000 bytes, current value makes one of \d+$/,
  });
  await assert.rejects(cache.set("k", "é".repeat(600)), RangeError, "counted in UTF-8 bytes");
  assert.equal(await cache.get("k"), "small", "a refused set leaves the entry as it was");
  // Near the limit, with tags (their versions ride in the entry): either refused, or stored.
  const { stored, refused } = await setAcross(cache, 600, 1000, 7, { tags: ["team:1", "user:1"] });
  assert.ok(
    stored > 0 && refused > 0,
    `both sides of the limit were tried: ${stored} stored, ${refused} refused`,
  );
  await cache.close();
});

Deno.test("cache: set starts its write in the turn it is called: a delete, an invalidation or a set called after it wins", async () => {
  const cache = await createCache();
  for (const tags of [[], ["x"], ["x", "y", "z"]]) {
    await cache.set("a", "0", { tags: ["x"] });
    await Promise.all([cache.set("a", "A", { tags }), cache.delete("a")]);
    assert.equal(await cache.get("a"), undefined, `set (tags ${tags}) then delete`);
    await cache.set("b", "0", { tags: ["x"] });
    await Promise.all([cache.set("b", "A", { tags: [...tags, "x"] }), cache.invalidateTags(["x"])]);
    assert.equal(await cache.get("b"), undefined, `set (tags ${tags}) then invalidateTags`);
    await Promise.all([cache.set("c", "A", { tags }), cache.set("c", "B")]);
    assert.equal(await cache.get("c"), "B", `set (tags ${tags}) then set`);
  }
  await cache.close();
});

Deno.test("cache: what set accepts is stored also under a small maxBytes and a fractional clock", async () => {
  let t = 1_700_000_000_000.123456;
  const clock = { now: () => (t += 0.000731) };
  for (const store of [memoryStore({ maxBytes: 4000 }), memoryStore({ maxValueBytes: 2000 })]) {
    const cache = await createCache({ store, clock });
    const { stored, refused } = await setAcross(cache, 100, 2000, 13, { ttl: 0.1 + 0.2, tags: ["t"] });
    assert.ok(stored > 0 && refused > 0, `${stored} stored, ${refused} refused`);
    await cache.close();
  }
});

/**
 * Sets values of `from` to `to` characters (every `step`) at one key: each is refused with a `RangeError` or,
 * when `set` resolved, read back as it was. Counts both.
 */
async function setAcross(cache: Cache, from: number, to: number, step: number, options: SetOptions) {
  let stored = 0, refused = 0;
  for (let size = from; size <= to; size += step) {
    const value = "x".repeat(size);
    try {
      await cache.set("near", value, options);
    } catch (error) {
      assert.ok(error instanceof RangeError, String(error));
      refused++;
      continue;
    }
    assert.equal(await cache.get("near"), value, `${size} characters: set resolved, so it is stored`);
    stored++;
  }
  return { stored, refused };
}
