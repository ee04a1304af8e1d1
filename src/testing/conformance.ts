/**
 * The contract every store passes: raw store semantics, then the cache's promises on top of it (falsy
 * values, hostile keys, tags, namespaces, races, expiry). Run it against your own adapter:
 *
 * @example
 * ```ts ignore
 * import { testAdapter } from "@svc-infra/cache/testing";
 * import { memoryStore } from "@svc-infra/cache/adapters/memory";
 * testAdapter("memory", () => memoryStore());
 * ```
 *
 * @module
 */

import fc from "fast-check";
import type { CacheStore } from "../store/store.ts";
import type { Cache } from "../api/cache.ts";
import type { SchemaError, StandardSchemaV1 } from "../read/schema.ts";
import type { LoaderContext } from "../load/loader_context.ts";
import {
  cacheRead,
  closeCache,
  createCache,
  getMetrics,
  initCache,
  invalidateTags,
  resetMetrics,
} from "../../mod.ts";
import { faultStore } from "./fault_store.ts";
import { integrityCases } from "./integrity_cases.ts";
import { hostileCases } from "./hostile_cases.ts";

/** Registers one test; `Deno.test` by default, or adapt `node:test`'s `test`. */
export type TestRegistrar = (name: string, fn: () => Promise<void>) => void;

/** What the suite may assume about the store. */
export interface ConformanceOptions {
  /** Physical expiry is lazy (Deno KV): skip the real-time expiry check; logical expiry is still tested. */
  lazyExpiry?: boolean;
  /** Read-after-write may lag: reads poll until `eventualMs` before failing; no compare-and-set is assumed. */
  eventualMs?: number;
  /** Random operations of the model-based test (reads, writes, invalidations, clock moves). @default {10000} */
  modelOps?: number;
  /** Random interleavings (10–40 concurrent operations each) of the concurrent model test. @default {60} */
  interleavingRuns?: number;
}

/** A controllable clock for the cache-level cases. */
class TestClock {
  #now = Date.now();
  now = () => this.#now;
  advance(ms: number) {
    this.#now += ms;
  }
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`Conformance: ${message}`);
}

function same(actual: unknown, expected: unknown, message: string) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`Conformance: ${message}: expected ${e}, got ${a}`);
}

/** `store` with its `getMany` and `setMany` calls counted. */
function countCalls(store: CacheStore): { store: CacheStore; reads: number; writes: number } {
  const calls: { store: CacheStore; reads: number; writes: number } = {
    reads: 0,
    writes: 0,
    store: {
      ...store,
      getMany: (keys, o) => (calls.reads++, store.getMany(keys, o)),
      setMany: (w, o) => (calls.writes++, store.setMany(w, o)),
    } as CacheStore,
  };
  return calls;
}

function defaultRegistrar(): TestRegistrar {
  const deno = (globalThis as { Deno?: { test(d: object): void } }).Deno;
  if (!deno) throw new TypeError("Cannot register conformance tests: pass a test function outside Deno");
  // Clients keep sockets and timers between calls by design; the suite closes the store after each case.
  return (name, fn) => deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

/**
 * Registers the conformance cases for a store. `factory` makes a fresh store per case; it is closed after.
 */
export function testAdapter(
  name: string,
  factory: () => CacheStore | Promise<CacheStore>,
  options: ConformanceOptions = {},
  test: TestRegistrar = defaultRegistrar(),
): void {
  const unique = () => `conf${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const poll = async <T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> => {
    const until = Date.now() + (options.eventualMs ?? 0);
    let value = await read();
    while (!ok(value) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
      value = await read();
    }
    return value;
  };
  /** Waits out the store's declared propagation delay after a write (nothing for strong stores). */
  const settle = () =>
    options.eventualMs ? new Promise((r) => setTimeout(r, options.eventualMs)) : Promise.resolve();
  const withStore = (title: string, fn: (store: CacheStore, ns: string) => Promise<void>) =>
    test(`${name} conformance: ${title}`, async () => {
      const store = await factory();
      try {
        await fn(store, unique());
      } finally {
        await store.close?.();
      }
    });
  const withCache = (title: string, fn: (clock: TestClock, store: CacheStore, ns: string) => Promise<void>) =>
    test(`${name} conformance: ${title}`, async () => {
      const store = await factory();
      const clock = new TestClock();
      const ns = unique();
      await initCache({ store, clock, prefix: ns, deadlineMs: 5000 });
      try {
        await fn(clock, store, ns);
      } finally {
        await closeCache();
        await store.close?.();
      }
    });

  const withInstances = (
    title: string,
    fn: (clock: TestClock, a: Cache, b: Cache, other: Cache) => Promise<void>,
  ) =>
    test(`${name} conformance: ${title}`, async () => {
      const store = await factory();
      const clock = new TestClock();
      const ns = unique();
      // Two instances on one store and namespace (as two processes would be), one on another namespace.
      const caches = await Promise.all(
        [ns, ns, `${ns}o`].map((prefix) => createCache({ store, clock, prefix, deadlineMs: 5000 })),
      );
      try {
        await fn(clock, caches[0], caches[1], caches[2]);
      } finally {
        for (const cache of caches) await cache.close();
        await store.close?.();
      }
    });

  withInstances(
    "imperative API: getOrSet, get, set, has, delete, tags; instances share only store and namespace",
    async (clock, a, b, other) => {
      let loads = 0;
      const load = () => ({ id: 1, n: ++loads });
      same(await a.getOrSet("user:1", load, { ttl: 60, tags: ["user:1"] }), { id: 1, n: 1 }, "miss loads");
      await settle();
      same(await a.getOrSet("user:1", load, { ttl: 60, tags: ["user:1"] }), { id: 1, n: 1 }, "hit");
      same(
        await poll(() => b.get("user:1"), (v) => v !== undefined),
        { id: 1, n: 1 },
        "same namespace sees it",
      );
      same(await other.get("user:1"), undefined, "another namespace does not");
      same(await b.has("user:1"), true, "has");
      const read = a.cacheRead(
        { key: "user:{id}", tags: ["user:{id}"], ttl: 60 },
        ({ id }: { id: number }) => ({ id, n: -1 }),
      );
      same(await read({ id: 1 }), { id: 1, n: 1 }, "a cacheRead rendering the same key reads the same entry");
      await b.invalidateTags(["user:1"]);
      await settle();
      same(
        await poll(() => a.get("user:1"), (v) => v === undefined),
        undefined,
        "invalidated by the other instance",
      );
      same(await a.has("user:1"), false, "has after invalidation");
      same(await a.getOrSet("user:1", load, { ttl: 60, tags: ["user:1"] }), { id: 1, n: 2 }, "reloaded");
      await a.set("user:2", { id: 2 }, { ttl: 60, tags: ["users"] });
      await settle();
      same(await poll(() => b.get("user:2"), (v) => v !== undefined), { id: 2 }, "set is seen");
      await b.delete("user:2");
      await settle();
      same(await poll(() => a.get("user:2"), (v) => v === undefined), undefined, "deleted");
      await a.set("user:3", "three", { ttl: 10 });
      clock.advance(11_000);
      same(await a.get("user:3"), undefined, "expired by the cache's clock");
      const m = a.metrics();
      check(m["cache.hit"] >= 1 && m["cache.miss"] >= 1, `this instance's counters (${JSON.stringify(m)})`);
      check(other.metrics()["cache.hit"] === 0, "another instance's counters are its own");
    },
  );

  withInstances(
    "getOrSetMany: one read for all keys and tags, one loader call, one claim and one write",
    async (_clock, a, b) => {
      const counted = countCalls(a.store);
      const prefix = a.keyPrefix.split(":")[0];
      const cache = await createCache({ store: counted.store, prefix, clock: _clock, deadlineMs: 5000 });
      try {
        const keys = Array.from({ length: 20 }, (_, i) => `item:${i}`);
        const calls: string[][] = [];
        const load = (missing: string[]) => (calls.push(missing), missing.map((k) => ({ k })));
        const options = { ttl: 60, tags: (key: string) => [key, "items"] };
        same(await cache.getOrSetMany(keys, load, options), keys.map((k) => ({ k })), "values in order");
        check(
          calls.length === 1 && calls[0].length === 20,
          `one loader call with every key (${calls.length})`,
        );
        check(counted.reads === 1, `one batch read for 20 entries and 21 tags (${counted.reads})`);
        check(counted.writes <= 2, `one claim and one write (${counted.writes} setMany calls)`);
        await settle();
        counted.reads = counted.writes = 0;
        same(await cache.getOrSetMany(keys, load, options), keys.map((k) => ({ k })), "hits");
        check(calls.length === 1, `no load on hits (${calls.length} loader calls)`);
        check(
          counted.reads === 1 && counted.writes === 0,
          `hits: one read, no write (${counted.reads}, ${counted.writes})`,
        );
        same(await poll(() => b.get("item:3"), (v) => v !== undefined), { k: "item:3" }, "stored for others");
        await b.invalidateTags(["items"]);
        await settle();
        same(
          await poll(() => a.get("item:3"), (v) => v === undefined),
          undefined,
          "tag invalidation reaches them",
        );
      } finally {
        await cache.close();
      }
    },
  );

  withInstances(
    "soft invalidation: stale once within staleTtl while one refresh runs; without staleTtl a miss",
    async (clock, a) => {
      let version = 1;
      const load = () => version;
      const graced = { ttl: 60, staleTtl: 600, tags: ["soft"] };
      same(await a.getOrSet("graced", load, graced), 1, "first load");
      same(await a.getOrSet("plain", load, { ttl: 60, tags: ["soft"] }), 1, "first load (no grace)");
      await settle();
      version = 2;
      await a.invalidateTags(["soft"], { soft: true });
      await settle();
      same(await a.get("graced"), undefined, "get serves only fresh values");
      same(await a.getOrSet("plain", load, { ttl: 60, tags: ["soft"] }), 2, "without staleTtl: a miss");
      same(await a.getOrSet("graced", load, graced), 1, "with staleTtl: the old value, once");
      // A read issued while the refresh lands may still see the old entry (and then starts a refresh itself).
      let after = await a.getOrSet("graced", load, graced);
      for (let i = 0; i < 50 && after !== 2; i++) {
        await new Promise((r) => setTimeout(r, 10));
        after = await a.getOrSet("graced", load, graced);
      }
      same(after, 2, "then the refreshed value");
      await a.invalidateTags(["soft"]);
      await settle();
      version = 3;
      same(await a.getOrSet("graced", load, graced), 3, "a hard invalidation is a miss even with staleTtl");
      clock.advance(0);
    },
  );

  withStore("set, get, delete and getMany order with misses", async (store, ns) => {
    const [a, b, c] = [`${ns}:a`, `${ns}:b`, `${ns}:c`];
    same(
      await store.setMany([{ key: a, value: "1", ttlMs: 60_000 }, { key: c, value: "3", ttlMs: 60_000 }]),
      [
        true,
        true,
      ],
      "setMany result",
    );
    same(await poll(() => store.getMany([c, b, a]), (v) => v[0] !== null), ["3", null, "1"], "getMany order");
    await store.deleteMany([a, b]);
    same(await poll(() => store.getMany([a, c]), (v) => v[0] === null), [null, "3"], "after delete");
    same(await store.getMany([]), [], "empty getMany");
  });

  if (!options.eventualMs) {
    withStore("ifAbsent writes only when the key is missing", async (store, ns) => {
      const key = `${ns}:lock`;
      same(await store.setMany([{ key, value: "first", ttlMs: 60_000, ifAbsent: true }]), [true], "first");
      same(await store.setMany([{ key, value: "second", ttlMs: 60_000, ifAbsent: true }]), [false], "second");
      same(await store.getMany([key]), ["first"], "value kept");
    });

    withStore("ifStartsWith writes only over a value with that start, atomically", async (store, ns) => {
      const key = `${ns}:cas`,
        w = (value: string, ifStartsWith: string) => ({
          key,
          value,
          ttlMs: 60_000,
          ifStartsWith,
        });
      same(await store.setMany([w("a1", "~")]), [false], "not over a missing key");
      same(await store.getMany([key]), [null], "still missing");
      await store.setMany([{ key, value: "~tok1", ttlMs: 60_000 }]);
      same(await store.setMany([w("entry", "~tok2")]), [false], "not over another token");
      same(await store.setMany([w('["svc4","tok3",1]', "~tok1")]), [true], "over the claimed token");
      same(await store.getMany([key]), ['["svc4","tok3",1]'], "written");
      // Concurrent writers claiming the same token: exactly one wins.
      const racing = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.setMany([w(`winner${i}`, '["svc4","tok3"')])),
      );
      same(racing.flat().filter(Boolean).length, 1, "one of eight concurrent compare-and-sets wins");
    });

    withStore("deleteIfStartsWith deletes only a value with that start", async (store, ns) => {
      const key = `${ns}:owned`;
      same(await store.deleteIfStartsWith(key, "me"), false, "missing");
      await store.setMany([{ key, value: "someone-else", ttlMs: 60_000 }]);
      same(await store.deleteIfStartsWith(key, "me"), false, "another owner's");
      same(await store.getMany([key]), ["someone-else"], "kept");
      await store.setMany([{ key, value: "me:1", ttlMs: 60_000 }]);
      same(await store.deleteIfStartsWith(key, "me"), true, "ours");
      same(await store.getMany([key]), [null], "deleted");
    });
  }

  withStore("values keep every character, up to the declared size limit", async (store, ns) => {
    const text = "svc1|é😀\n\u0000\"'\\ {x}:*" + "x".repeat(1000);
    await store.setMany([{ key: `${ns}:t`, value: text, ttlMs: 60_000 }]);
    same(await poll(() => store.getMany([`${ns}:t`]), (v) => v[0] !== null), [text], "round-trip");
    const near = "y".repeat(Math.min(store.capabilities.maxValueBytes, 4 << 20) - 16);
    same(await store.setMany([{ key: `${ns}:big`, value: near, ttlMs: 60_000 }]), [true], "near the limit");
    const got = await poll(() => store.getMany([`${ns}:big`]), (v) => v[0] !== null);
    check(got[0]?.length === near.length, "a value near the limit round-trips");
  });

  if (!options.lazyExpiry) {
    withStore("keys expire after their ttl on the real backend", async (store, ns) => {
      await store.setMany([{ key: `${ns}:short`, value: "v", ttlMs: 60 }, {
        key: `${ns}:long`,
        value: "v",
        ttlMs: 60_000,
      }]);
      await new Promise((r) => setTimeout(r, 150));
      // A store whose writes land late (or a late event loop) starts the short ttl late: it must still end, well
      // before the long one.
      const until = Date.now() + 2000;
      let got = await store.getMany([`${ns}:short`, `${ns}:long`]);
      while (got[0] !== null && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
        got = await store.getMany([`${ns}:short`, `${ns}:long`]);
      }
      same(got, [null, "v"], "after ttl");
    });
  }

  withStore("scan lists keys by prefix", async (store, ns) => {
    if (!store.scan) return;
    await store.setMany(["a", "b"].map((k) => ({ key: `${ns}:p:${k}`, value: k, ttlMs: 60_000 })));
    await store.setMany([{ key: `${ns}:q`, value: "q", ttlMs: 60_000 }]);
    const found = await poll(() => store.scan!(`${ns}:p:`), (v) => v.length === 2);
    same(found.sort(), [`${ns}:p:a`, `${ns}:p:b`], "scan");
  });

  withCache("falsy values are values, distinct from a miss", async () => {
    for (const value of [0, false, "", null]) {
      let loads = 0;
      const get = cacheRead({ key: `falsy:{v}`, ttl: 60 }, (_: { v: string }) => (loads++, value));
      same(await get({ v: String(value) }), value, "first");
      await settle();
      same(await get({ v: String(value) }), value, "again");
      check(loads === 1, `${String(value)} is served from the cache (loads: ${loads})`);
    }
  });

  withCache("hostile and long keys never collide", async () => {
    const ids = [
      "1",
      "1:profile",
      "1%3Aprofile",
      "*",
      "{x}",
      " ",
      "\t",
      "é",
      "e\u0301",
      "😀",
      "a".repeat(5000),
      "a".repeat(5001),
    ];
    const get = cacheRead({ key: "user:{id}:profile", ttl: 60 }, ({ id }: { id: string }) => id);
    for (const id of ids) same(await get({ id }), id, "first read");
    await settle();
    for (const id of ids) same(await get({ id }), id, `second read of ${id.slice(0, 20)}`);
    let threw = false;
    try {
      await get({ id: "\ud800" });
    } catch (error) {
      threw = error instanceof TypeError;
    }
    check(threw, "a lone surrogate is rejected with a TypeError");
  });

  withCache("tag invalidation: user:1 never touches user:10", async () => {
    const loads: number[] = [];
    const get = cacheRead(
      { key: "u:{id}", tags: ["user:{id}"], ttl: 60 },
      ({ id }: { id: number }) => (loads.push(id), id),
    );
    await get({ id: 1 });
    await get({ id: 10 });
    await settle();
    await invalidateTags("user:1");
    await settle();
    await get({ id: 1 });
    await get({ id: 10 });
    same(loads, [1, 10, 1], "loads");
  });

  withCache("two namespaces on one store are isolated", async (clock, store, ns) => {
    let loads = 0;
    const get = cacheRead({ key: "shared", ttl: 60 }, () => ++loads);
    same(await get(), 1, "first namespace");
    await settle();
    await initCache({ store, clock, prefix: ns, version: "other" });
    same(await get(), 2, "second namespace starts empty");
    await invalidateTags("anything");
    await settle();
    await initCache({ store, clock, prefix: ns });
    same(await get(), 1, "first namespace kept its entry");
  });

  withCache("concurrent writers: the last invalidation wins, no stale read", async () => {
    let source = 0;
    const get = cacheRead({ key: "counter", tags: ["c"], ttl: 60 }, () => source);
    await get();
    await settle();
    await Promise.all(Array.from({ length: 20 }, async () => {
      source++;
      await invalidateTags("c");
    }));
    await settle();
    same(await get(), 20, "after concurrent writes");
  });

  withCache("a load held across an invalidation is not served afterwards", async () => {
    let release!: (v: string) => void;
    const held = new Promise<string>((r) => release = r);
    let loads = 0;
    const get = cacheRead({ key: "race", tags: ["r"], ttl: 60 }, () => ++loads === 1 ? held : "new");
    const slow = get();
    while (loads === 0) await new Promise((r) => setTimeout(r, 5)); // the load has started
    await invalidateTags("r");
    release("old");
    same(await slow, "old", "the held caller gets its own load");
    await settle();
    same(await get(), "new", "later callers never see it");
  });

  withCache("a value over the store's size limit is returned, not stored, counted", async (_clock, store) => {
    const big = "x".repeat(store.capabilities.maxValueBytes + 1);
    let loads = 0;
    const get = cacheRead({ key: "big", ttl: 60 }, () => (loads++, big));
    resetMetrics();
    same((await get()).length, big.length, "first call");
    await settle();
    same((await get()).length, big.length, "second call");
    check(loads === 2, `an oversize value is not cached (loads: ${loads})`);
    check(getMetrics()["cache.error"] === 2, "counted in cache.error");
  });

  withCache(
    "1000 concurrent cold callers run the loader once and share their reads, with and without the lock",
    async (clock, store, ns) => {
      for (const lock of [false, true]) {
        const calls = countCalls(store);
        await initCache({
          store: calls.store,
          clock,
          prefix: `${ns}${lock}`,
          lock: lock && { pollMs: 10 },
          deadlineMs: 5000,
        });
        let loads = 0;
        const get = cacheRead({ key: "cold", ttl: 60 }, async () => {
          loads++;
          await new Promise((r) => setTimeout(r, 20));
          return { n: 1 };
        });
        const values = await Promise.all(Array.from({ length: 1000 }, () => get()));
        check(loads === 1, `lock ${lock}: loaded ${loads} times`);
        check(
          values.every((v) => v.n === 1) && new Set(values).size === 1000,
          "each caller has its own copy",
        );
        if (!store.capabilities.inProcess) {
          // One read for the whole burst; the one load then claims and writes (with the lock, takes it first).
          check(calls.reads === 1, `lock ${lock}: the burst sent ${calls.reads} reads`);
          check(calls.writes === (lock ? 3 : 2), `lock ${lock}: the burst sent ${calls.writes} writes`);
        }
      }
    },
  );

  withCache("logical expiry follows the cache's clock", async (clock) => {
    let loads = 0;
    const get = cacheRead({ key: "exp", ttl: 10 }, () => ++loads);
    await get();
    await settle();
    clock.advance(9_000);
    same(await get(), 1, "before ttl");
    clock.advance(1_001);
    same(await get(), 2, "after ttl");
  });

  if (!options.eventualMs) {
    withCache(
      "model: random reads, writes, invalidations and clock moves agree with a reference model",
      async (
        clock,
        store,
        ns,
      ) => {
        const total = options.modelOps ?? 10_000;
        const perRun = 100;
        const KEYS = 4;
        type Op =
          | { kind: "read"; k: number }
          | { kind: "update"; k: number }
          | { kind: "updateGroup"; g: number }
          | { kind: "silentUpdate"; k: number }
          | { kind: "refresh"; k: number }
          | { kind: "drop"; k: number }
          | { kind: "advance"; ms: number };
        const key = fc.integer({ min: 0, max: KEYS - 1 });
        const op: fc.Arbitrary<Op> = fc.oneof(
          { weight: 8, arbitrary: key.map((k) => ({ kind: "read" as const, k })) },
          { weight: 2, arbitrary: key.map((k) => ({ kind: "update" as const, k })) },
          {
            weight: 1,
            arbitrary: fc.integer({ min: 0, max: 1 }).map((g) => ({ kind: "updateGroup" as const, g })),
          },
          { weight: 1, arbitrary: key.map((k) => ({ kind: "silentUpdate" as const, k })) },
          { weight: 1, arbitrary: key.map((k) => ({ kind: "refresh" as const, k })) },
          { weight: 1, arbitrary: key.map((k) => ({ kind: "drop" as const, k })) },
          {
            weight: 2,
            arbitrary: fc.integer({ min: 0, max: 1500 }).map((s) => ({
              kind: "advance" as const,
              ms: s * 1000,
            })),
          },
        );
        let run = 0;
        await fc.assert(
          fc.asyncProperty(fc.array(op, { minLength: perRun, maxLength: perRun }), async (ops) => {
            await initCache({ store, clock, prefix: `${ns}m${run++}`, deadlineMs: 5000 });
            const TTL = 3600;
            const db = new Array(KEYS).fill(0);
            const tagVersion = new Map<string, number>();
            const tagsOf = (k: number) => [`k:${k}`, `g:${k % 2}`];
            const versions = (k: number) => tagsOf(k).map((t) => tagVersion.get(t) ?? 0).join();
            const model = new Map<number, { value: number; expiresAt: number; versions: string }>();
            let modelLoads = 0, realLoads = 0;
            const get = cacheRead(
              { key: "m:{k}", tags: ["k:{k}", "g:{g}"], ttl: TTL },
              ({ k }: { k: number; g: number }) => (realLoads++, db[k]),
            );
            const load = (k: number) => {
              modelLoads++;
              model.set(k, { value: db[k], expiresAt: clock.now() + TTL * 1000, versions: versions(k) });
              return db[k];
            };
            const bump = (tag: string) => tagVersion.set(tag, (tagVersion.get(tag) ?? 0) + 1);
            for (const o of ops) {
              if (o.kind === "read") {
                const cached = model.get(o.k);
                const expected = cached && clock.now() < cached.expiresAt && cached.versions === versions(o.k)
                  ? cached.value
                  : load(o.k);
                same(await get({ k: o.k, g: o.k % 2 }), expected, `read ${o.k} after ${JSON.stringify(ops)}`);
              } else if (o.kind === "update") {
                db[o.k]++;
                bump(`k:${o.k}`);
                await invalidateTags(`k:${o.k}`);
              } else if (o.kind === "updateGroup") {
                for (let k = o.g; k < KEYS; k += 2) db[k]++;
                bump(`g:${o.g}`);
                await invalidateTags(`g:${o.g}`);
              } else if (o.kind === "silentUpdate") {
                db[o.k]++;
              } else if (o.kind === "refresh") {
                same(await get.refresh({ k: o.k, g: o.k % 2 }), load(o.k), `refresh ${o.k}`);
              } else if (o.kind === "drop") {
                model.delete(o.k);
                await get.invalidate({ k: o.k, g: o.k % 2 });
              } else clock.advance(o.ms);
            }
            check(
              realLoads === modelLoads,
              `the loader ran ${realLoads} times, the model loaded ${modelLoads} times`,
            );
          }),
          { numRuns: Math.ceil(total / perRun) },
        );
      },
    );

    withStore(
      "model: interleaved reads, gated loads and invalidations on a delayed backend never read stale",
      async (inner, ns) => {
        const KEYS = 3;
        type Op =
          | { kind: "read"; k: number; lock: boolean }
          | { kind: "write"; k: number; perEntry: boolean }
          | { kind: "release" }
          | { kind: "tick" };
        const key = fc.integer({ min: 0, max: KEYS - 1 });
        const op: fc.Arbitrary<Op> = fc.oneof(
          {
            weight: 5,
            arbitrary: fc.record({ kind: fc.constant("read" as const), k: key, lock: fc.boolean() }),
          },
          {
            weight: 2,
            arbitrary: fc.record({ kind: fc.constant("write" as const), k: key, perEntry: fc.boolean() }),
          },
          { weight: 3, arbitrary: fc.constant({ kind: "release" as const }) },
          { weight: 2, arbitrary: fc.constant({ kind: "tick" as const }) },
        );
        const store = faultStore(inner); // remote: deadlines, breaker and the generation key are in play
        store.fault = { mode: "delay", ms: 1 };
        let run = 0;
        await fc.assert(
          fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 40 }), async (ops) => {
            await initCache({ store, prefix: `${ns}i${run++}`, deadlineMs: 5000 });
            const db = new Array(KEYS).fill(0);
            const acknowledged = new Array(KEYS).fill(0);
            const gates: (() => void)[] = [];
            const loader = async ({ k }: { k: number }) => {
              const value = db[k]; // what the load read, before it waits
              await new Promise<void>((open) => gates.push(open));
              return value;
            };
            const plain = cacheRead({ key: "i:{k}", tags: ["i:{k}"], ttl: 3600 }, loader);
            const locked = cacheRead(
              { key: "il:{k}", tags: ["i:{k}"], ttl: 3600, lock: { pollMs: 2 } },
              loader,
            );
            const pending: Promise<void>[] = [];
            const tick = () => new Promise((r) => setTimeout(r, 2));
            for (const o of ops) {
              if (o.kind === "read") {
                const floor = acknowledged[o.k];
                pending.push(
                  (o.lock ? locked : plain)({ k: o.k }).then((value) => {
                    check(
                      value >= floor,
                      `read of ${o.k} got ${value}, acknowledged ${floor}: ${JSON.stringify(ops)}`,
                    );
                  }),
                );
              } else if (o.kind === "write") {
                const version = ++db[o.k];
                const done = o.perEntry
                  ? Promise.all([plain.invalidate({ k: o.k }), locked.invalidate({ k: o.k })])
                  : invalidateTags(`i:${o.k}`).then((r) => [r]);
                pending.push(done.then((results) => {
                  check(results.every((r) => r.delivered), "delivered");
                  acknowledged[o.k] = Math.max(acknowledged[o.k], version);
                }));
              } else if (o.kind === "release") gates.shift()?.();
              else await tick();
            }
            // Let everything finish: open gates until every read and write has settled.
            const drained = async <T>(work: Promise<T>): Promise<T> => {
              let done = false;
              const watched = work.finally(() => done = true);
              while (!done) {
                gates.shift()?.();
                await tick();
              }
              return await watched;
            };
            await drained(Promise.all(pending));
            for (let k = 0; k < KEYS; k++) {
              const fresh = await drained(plain({ k }));
              check(fresh >= acknowledged[k], `a final read of ${k} is not older than every write`);
            }
          }),
          { numRuns: options.interleavingRuns ?? 60 },
        );
        await closeCache();
      },
    );
  }

  /** `a`'s store with its deletes counted, under `a`'s prefix (a third instance on the shared namespace). */
  const countedDeletes = async (clock: TestClock, a: Cache) => {
    const counter = { deletes: 0, keys: 0, reads: 0 };
    const store: CacheStore = {
      ...a.store,
      getMany: (keys, o) => (counter.reads++, a.store.getMany(keys, o)),
      deleteMany: (keys, o) => (counter.deletes++, counter.keys += keys.length, a.store.deleteMany(keys, o)),
    };
    const prefix = a.keyPrefix.split(":")[0];
    return { counter, cache: await createCache({ store, prefix, clock, deadlineMs: 5000 }) };
  };

  withInstances(
    "clear(): every entry becomes a miss in every instance sharing the namespace, with one delete",
    async (clock, a, b, other) => {
      const { counter, cache } = await countedDeletes(clock, a);
      try {
        let loads = 0;
        const load = () => ++loads;
        for (let i = 0; i < 30; i++) await a.getOrSet(`k:${i}`, load, { ttl: 60, tags: [`t:${i}`] });
        await other.set("k:0", "other namespace", { ttl: 60 });
        await settle();
        same(await poll(() => b.get("k:29"), (v) => v !== undefined), 30, "b sees a's entries before");
        const result = await cache.clear();
        check(result.delivered, "delivered");
        await result.landed;
        if (!a.store.capabilities.inProcess) {
          same([counter.deletes, counter.keys], [1, 1], "one delete of one key, whatever the entry count");
        }
        await settle();
        for (const instance of [a, b]) {
          for (let i = 0; i < 30; i += 7) {
            same(
              await poll(() => instance.get(`k:${i}`), (v) => v === undefined),
              undefined,
              `k:${i} cleared`,
            );
          }
        }
        same(await other.get("k:0"), "other namespace", "another namespace keeps its entries");
        same(await a.getOrSet("k:1", load, { ttl: 60, tags: ["t:1"] }), 31, "a miss loads again");
        await settle();
        same(await poll(() => b.get("k:1"), (v) => v === 31), 31, "and stores again after the clear");
        check(a.metrics()["cache.clear"] === undefined && cache.metrics()["cache.clear"] === 1, "counted");
      } finally {
        await cache.close();
      }
    },
  );

  withInstances(
    "namespaces: entries, tags and locks apart; clear() of one leaves parent and siblings; a parent's clears it",
    async (_clock, a, b) => {
      const users = a.namespace("users"), orders = a.namespace("orders"), admins = users.namespace("admins");
      const usersB = b.namespace("users");
      check(
        a.namespace("users") !== users || users.keyPrefix === a.namespace("users").keyPrefix,
        "same name",
      );
      const all = { a, users, orders, admins } as const;
      for (const [name, cache] of Object.entries(all)) await cache.set("1", name, { ttl: 60, tags: ["t"] });
      await settle();
      for (const [name, cache] of Object.entries(all)) {
        same(await cache.get("1"), name, `${name} holds its own`);
      }
      same(await poll(() => usersB.get("1"), (v) => v !== undefined), "users", "another instance's users");
      await users.invalidateTags(["t"]);
      await settle();
      same(await poll(() => users.get("1"), (v) => v === undefined), undefined, "users' tag invalidated");
      same(
        [await a.get("1"), await orders.get("1"), await admins.get("1")],
        ["a", "orders", "admins"],
        "tags apart",
      );
      await users.set("1", "users", { ttl: 60 });
      await settle();
      const { delivered } = await usersB.clear(); // from the other instance, as another process would
      check(delivered, "namespace clear delivered");
      await settle();
      same(await poll(() => users.get("1"), (v) => v === undefined), undefined, "users cleared");
      same(await poll(() => admins.get("1"), (v) => v === undefined), undefined, "its child cleared");
      same([await a.get("1"), await orders.get("1")], ["a", "orders"], "parent and sibling untouched");
      await admins.set("1", "admins", { ttl: 60 });
      await settle();
      await b.clear();
      await settle();
      for (const [name, cache] of Object.entries(all)) {
        same(
          await poll(() => cache.get("1"), (v) => v === undefined),
          undefined,
          `parent clear reaches ${name}`,
        );
      }
      let deepest = a;
      for (let depth = 1; depth <= 8; depth++) deepest = deepest.namespace(`d${depth}`);
      await deepest.set("deep", 1, { ttl: 60 });
      await settle();
      same(await poll(() => deepest.get("deep"), (v) => v !== undefined), 1, "8 levels deep works");
      let threw: unknown;
      try {
        deepest.namespace("d9");
      } catch (error) {
        threw = error;
      }
      check(threw instanceof RangeError, `a 9th level is a RangeError (${threw})`);
      for (const bad of ["", "a:b", 1 as unknown as string]) {
        threw = undefined;
        try {
          a.namespace(bad);
        } catch (error) {
          threw = error;
        }
        check(threw instanceof TypeError, `namespace(${JSON.stringify(bad)}) is a TypeError (${threw})`);
      }
      await a.clear();
      await settle();
      same(await poll(() => deepest.get("deep"), (v) => v === undefined), undefined, "cleared 8 levels down");
    },
  );

  withInstances(
    "keys(): a cache lists its namespaces' keys after their path, a namespace its own",
    async (_c, a, b) => {
      if (!a.store.scan) return; // a store that cannot list keys
      const users = a.namespace("users"), admins = users.namespace("admins");
      await a.set("user:1", 1, { ttl: 60, tags: ["t"] });
      await users.set("1", 2, { ttl: 60, tags: ["t"] });
      await admins.set("7", 3, { ttl: 60 });
      await b.namespace("orders").set("9", 4, { ttl: 60 });
      await settle();
      const listed = (cache: Cache, pattern?: string) =>
        poll(() => cache.keys(pattern), (keys) => keys.length > 0);
      same(
        await poll(() => a.keys(), (keys) => keys.length === 4),
        ["orders/9", "user:1", "users/1", "users/admins/7"],
        "every namespace's entries, no tag version, lock or generation",
      );
      same(await listed(a, "users/*"), ["users/1", "users/admins/7"], "a pattern over the path");
      same(await listed(a, "user:*"), ["user:1"], "a pattern over this cache's keys");
      same(await listed(users), ["1", "admins/7"], "a namespace lists its own, and those under it");
      same(await listed(b.namespace("users").namespace("admins")), ["7"], "from another instance too");
    },
  );

  withInstances("a namespaced hit takes one store read, its generations with it", async (clock, a) => {
    const { counter, cache } = await countedDeletes(clock, a);
    try {
      const nested = cache.namespace("x").namespace("y");
      let loads = 0;
      const read = nested.cacheRead({ key: "r:{id}", ttl: 60, tags: ["r"] }, ({ id }: { id: number }) => {
        loads++;
        return id;
      });
      same(await read({ id: 1 }), 1, "miss");
      await settle();
      counter.reads = 0;
      same(await poll(() => read({ id: 1 }).then(() => loads), (n) => n === 1), 1, "hit");
      const reads = counter.reads;
      counter.reads = 0;
      same(await read({ id: 1 }), 1, "another hit");
      check(
        counter.reads === (a.store.peek ? 0 : 1) && loads === 1,
        `a hit takes ${counter.reads} store reads (${reads} while polling), ${loads} loads`,
      );
    } finally {
      await cache.close();
    }
  });

  withInstances("a load in flight across clear() does not store, in a namespace too", async (_clock, a) => {
    for (const cache of [a, a.namespace("n")]) {
      let release!: (v: string) => void;
      const held = new Promise<string>((r) => release = r);
      let loads = 0;
      const load = () => ++loads === 1 ? held : "new";
      const slow = cache.getOrSet("race", load, { ttl: 60 });
      while (loads === 0) await new Promise((r) => setTimeout(r, 5)); // the load has started
      await a.clear(); // the parent's clear reaches the namespace's load too
      release("old");
      same(await slow, "old", "the held caller gets its own load");
      await settle();
      same(await cache.get("race"), undefined, "it was not stored");
      same(await cache.getOrSet("race", load, { ttl: 60 }), "new", "later callers load again");
    }
  });

  withInstances(
    "schema: a stored value that fails is a miss, counted, reloaded; a loaded one is a TypeError, not cached",
    async (_clock, a, b) => {
      type Profile = { name: string; age: number };
      const issuesOf = (value: unknown) => {
        const v = value as Partial<Profile> | null;
        const issues = [];
        if (typeof v?.name !== "string") issues.push({ message: "expected a string", path: ["name"] });
        if (typeof v?.age !== "number") issues.push({ message: "expected a number", path: ["age"] });
        return issues;
      };
      // Its output marks the value, so the tests see the output is what callers get.
      const schemaOf = (async: boolean): StandardSchemaV1<unknown, Profile & { checked: true }> => ({
        "~standard": {
          version: 1,
          vendor: "conformance",
          validate: (value) => {
            const issues = issuesOf(value);
            const result = issues.length
              ? { issues }
              : { value: { ...(value as Profile), checked: true as const } };
            return async ? new Promise((r) => setTimeout(() => r(result), 1)) : result;
          },
        },
      });
      for (const async of [false, true]) {
        const schema = schemaOf(async), key = `p:${async}`;
        await b.set(key, { name: "Ada" }, { ttl: 60 }); // an older deploy stored another shape
        await settle();
        let loads = 0;
        const load = () => (loads++, { name: "Ada", age: 36 });
        const rejected = () => a.metrics()["cache.schema.rejected"] ?? 0;
        const before = rejected();
        let value = await poll(() => a.getOrSet(key, load, { ttl: 60, schema }), () => rejected() > before);
        same([value, loads], [{ name: "Ada", age: 36, checked: true }, 1], `${key}: reloaded, the output`);
        same(rejected(), before + 1, `${key}: counted`);
        await settle();
        same(
          await poll(() => b.get(key), (v) => v !== undefined),
          { name: "Ada", age: 36 },
          "what loaded is stored",
        );
        value = await a.getOrSet(key, load, { ttl: 60, schema });
        same([value, loads], [{ name: "Ada", age: 36, checked: true }, 1], `${key}: a hit, the output`);
        const read = a.cacheRead({ key: "p:{id}", ttl: 60, schema }, ({ id }: { id: string }) => ({ id }));
        let threw: unknown;
        try {
          await read({ id: "bad" });
        } catch (error) {
          threw = error;
        }
        check(
          threw instanceof TypeError && (threw as SchemaError).issues?.length === 2 &&
            threw.message.includes("age: expected a number"),
          `${key}: a loaded value that fails is a TypeError with the issues (${threw})`,
        );
        await settle();
        same(await b.get("p:bad"), undefined, `${key}: not cached`);
      }
      let typo: unknown;
      try {
        await a.getOrSet("x", () => 1, { schmea: schemaOf(false) } as never);
      } catch (error) {
        typo = error;
      }
      check(typo instanceof TypeError && typo.message.includes(`"schema"`), `a typo names schema (${typo})`);
      let bad: unknown;
      try {
        await a.getOrSet("x", () => 1, { schema: {} as never });
      } catch (error) {
        bad = error;
      }
      check(bad instanceof TypeError && bad.message.includes("Standard Schema"), `not a schema (${bad})`);
    },
  );

  withInstances(
    "getOrSetMany: schema and the loader context, with the semantics of single reads",
    async (clock, a, b) => {
      const expectThrow = async (what: string, test: (e: unknown) => boolean, work: () => unknown) => {
        let threw: unknown;
        try {
          await work();
        } catch (error) {
          threw = error;
        }
        check(test(threw), `${what} (${threw})`);
      };
      const isN: StandardSchemaV1<unknown, { n: number; checked: true }> = {
        "~standard": {
          version: 1,
          vendor: "conformance",
          validate: (v) =>
            typeof (v as { n?: unknown })?.n === "number"
              ? { value: { n: (v as { n: number }).n, checked: true as const } }
              : { issues: [{ message: "expected a number", path: ["n"] }] },
        },
      };
      // Schema: a stored value of another shape is a miss, reloaded; callers get the output.
      await b.set("m:1", { n: "old" }, { ttl: 60 });
      await b.set("m:2", { n: 2 }, { ttl: 60 });
      await settle();
      const rejected = () => a.metrics()["cache.schema.rejected"] ?? 0;
      let asked: string[] = [];
      const loadN = (keys: string[]) => (asked.push(...keys), keys.map((k) => ({ n: Number(k.slice(2)) })));
      const before = rejected();
      const got = await poll(
        () => a.getOrSetMany(["m:1", "m:2"], loadN, { ttl: 60, schema: isN }),
        () => rejected() > before,
      );
      same(got, [{ n: 1, checked: true }, { n: 2, checked: true }], "the schema's output");
      same(
        [asked, rejected() - before],
        [["m:1"], 1],
        "the rejected value reloaded, counted; the other a hit",
      );
      await settle();
      same(await poll(() => b.get("m:1"), (v) => v !== undefined), { n: 1 }, "what loaded is stored");
      await expectThrow(
        "a loaded value that fails is a SchemaError",
        (e) => e instanceof TypeError && (e as SchemaError).issues?.length === 1,
        () =>
          a.getOrSetMany(["m:3", "bad"], (keys) => keys.map((k) => k === "bad" ? {} : { n: 3 }), {
            schema: isN,
          }),
      );
      await settle();
      same(await poll(() => b.get("m:3"), (v) => v !== undefined), { n: 3 }, "the valid one is stored");
      same(await b.get("bad"), undefined, "the failing one is not");
      await expectThrow(
        "not a schema",
        (e) => e instanceof TypeError && (e as Error).message.includes("Standard Schema"),
        () => a.getOrSetMany(["x"], (k) => k, { schema: {} as never }),
      );

      // Context: stale and notModified per key, setTtl, setEtag, skip, addTags.
      asked = [];
      const stales: unknown[] = [];
      const first = await a.getOrSetMany(["c:1", "c:2", "c:3"], (keys, ctx) => {
        ctx[0].setEtag("e1");
        ctx[1].setTtl(5);
        ctx[2].skip();
        stales.push(...ctx.map((c) => c.stale));
        return keys.map((k) => ({ k }));
      }, { ttl: 10, staleTtl: 600 });
      same(first, [{ k: "c:1" }, { k: "c:2" }, { k: "c:3" }], "loaded");
      same(stales, [undefined, undefined, undefined], "nothing replaced on a first load");
      await settle();
      same(await b.get("c:3"), undefined, "skip stores nothing");
      clock.advance(6_000);
      same(await b.get("c:2"), undefined, "expired after its own ttl, not the batch's");
      same(await b.get("c:1"), { k: "c:1" }, "the others keep the batch's");
      clock.advance(5_000); // c:1 expired, still valid within its grace: offered to the next load
      const etags: unknown[] = [];
      const kept = await a.getOrSetMany(["c:1"], (_keys, ctx) => {
        etags.push(ctx[0].stale?.etag);
        return [ctx[0].notModified()];
      }, { ttl: 10, staleTtl: 600 });
      same([kept, etags], [[{ k: "c:1" }], ["e1"]], "notModified keeps the stale value, its etag offered");
      await settle();
      same(await poll(() => b.get("c:1"), (v) => v !== undefined), { k: "c:1" }, "fresh again");
      await expectThrow(
        "notModified without a stale entry",
        (e) => e instanceof TypeError,
        () => a.getOrSetMany(["none"], (_keys, ctx) => [ctx[0].notModified()]),
      );
      // addTags: like a single load's, once the tag's version was read before a load; then validated on hits.
      let batchLoads = 0;
      const tagging = (keys: string[], ctx: readonly LoaderContext[]) => (
        ctx.forEach((c, i) => c.addTags(`org:${keys[i]}`)), batchLoads++, keys.map((k) => ({ k, batchLoads }))
      );
      same(await a.getOrSetMany(["t:1", "t:2"], tagging, { ttl: 60 }), [
        { k: "t:1", batchLoads: 1 },
        { k: "t:2", batchLoads: 1 },
      ], "first load, tags added");
      await settle();
      same(await b.get("t:1"), undefined, "not served: the added tag's version was not read before the load");
      same(
        (await b.getOrSetMany(["t:1", "t:2"], tagging, { ttl: 60 })).map((v) => v.batchLoads),
        [2, 2],
        "the next load reads the added tags' versions first",
      );
      await settle();
      same(
        (await a.getOrSetMany(["t:1", "t:2"], tagging, { ttl: 60 })).map((v) => v.batchLoads),
        [2, 2],
        "its entries are served by a batch",
      );
      same(await poll(() => b.get("t:2"), (v) => v !== undefined), { k: "t:2", batchLoads: 2 }, "and by get");
      await b.invalidateTags(["org:t:1"]);
      await settle();
      same(
        (await a.getOrSetMany(["t:1", "t:2"], tagging, { ttl: 60 })).map((v) => v.batchLoads),
        [3, 2],
        "an invalidation of an added tag makes that entry a miss in a batch",
      );
      check(batchLoads === 3, `three batch loads (${batchLoads})`);
      await expectThrow(
        "addTags with a bad tag in a batch",
        (e) => e instanceof TypeError,
        () => a.getOrSetMany(["t:3"], (keys, ctx) => (ctx[0].addTags(""), keys)),
      );
      let late: LoaderContext | undefined;
      await a.getOrSetMany(["late"], (keys, ctx) => (late = ctx[0], keys));
      await expectThrow("a call after the loader settled", (e) => e instanceof TypeError, () => late!.skip());
    },
  );

  withInstances(
    "loader context: ctx.stale, notModified, setTtl, setEtag and skip decide what a load stores",
    async (clock, a, b) => {
      const expectThrow = async (what: string, type: typeof TypeError, work: () => unknown) => {
        let threw: unknown;
        try {
          await work();
        } catch (error) {
          threw = error;
        }
        check(threw instanceof type, `${what}: a ${type.name} (${threw})`);
      };
      const seen: unknown[] = [];
      let loads = 0;
      const first = await a.getOrSet("c", (ctx) => (loads++, seen.push(ctx.stale), { v: 1 }), { ttl: 10 });
      same([first, seen, loads], [{ v: 1 }, [undefined], 1], "a first load has no stale entry");
      const storedAt = clock.now();
      await settle();
      clock.advance(11_000); // expired, still valid: offered to the next load
      const kept = await a.getOrSet("c", (ctx) => {
        loads++;
        seen.push(ctx.stale);
        return ctx.notModified();
      }, { ttl: 10 });
      same(
        [kept, seen[1], loads],
        [{ v: 1 }, { value: { v: 1 }, storedAt }, 2],
        "notModified keeps the value",
      );
      await settle();
      same(await poll(() => b.get("c"), (v) => v !== undefined), { v: 1 }, "stored again, fresh");
      same(await a.getOrSet("c", () => (loads++, { v: 2 }), { ttl: 10 }), { v: 1 }, "a hit for its ttl");
      check(loads === 2, `no load while fresh (${loads})`);

      await a.set("h", "old", { ttl: 60, tags: ["h"] });
      await a.invalidateTags(["h"]);
      await settle();
      let hard: unknown = "unset";
      same(
        await a.getOrSet("h", (ctx) => (hard = ctx.stale, "new"), { ttl: 60, tags: ["h"] }),
        "new",
        "load",
      );
      same(hard, undefined, "a hard-invalidated entry is not offered");
      await expectThrow(
        "notModified without a stale entry",
        TypeError,
        () => a.getOrSet("none", (ctx) => ctx.notModified(), { ttl: 60 }),
      );
      await settle();
      same(await b.get("none"), undefined, "nothing stored");

      same(await a.getOrSet("t", (ctx) => (ctx.setTtl(5), 1), { ttl: 60 }), 1, "setTtl");
      await settle();
      same(await poll(() => b.get("t"), (v) => v !== undefined), 1, "stored");
      clock.advance(6_000);
      same(await b.get("t"), undefined, "expired after the loader's ttl, not the function's");
      same(await a.getOrSet("z", (ctx) => (ctx.setTtl(0), 1), { ttl: 60 }), 1, "setTtl(0) returns");
      same(await a.getOrSet("k", (ctx) => (ctx.skip(), 1), { ttl: 60 }), 1, "skip returns");
      await settle();
      same([await b.get("z"), await b.get("k")], [undefined, undefined], "setTtl(0) and skip store nothing");
      same(await a.getOrSet("k", () => 2, { ttl: 60 }), 2, "the next call loads again");
      await expectThrow("setTtl(-1)", RangeError, () => a.getOrSet("n", (ctx) => (ctx.setTtl(-1), 1)));
      let late: LoaderContext | undefined;
      await a.getOrSet("late", (ctx) => (late = ctx, 1), { ttl: 60 });
      const calls = [
        () => late!.skip(),
        () => late!.setTtl(1),
        () => late!.setEtag("x"),
        () => late!.notModified(),
      ];
      for (const call of calls) {
        await expectThrow("a call after the loader settled", TypeError, call);
      }
      // A conditional refresh: the etag is stored with the entry, offered to the next load, kept by notModified.
      const etags: unknown[] = [];
      const conditional = (ctx: LoaderContext) => {
        etags.push(ctx.stale?.etag);
        if (ctx.stale?.etag === '"v1"') return ctx.notModified();
        ctx.setEtag('"v1"');
        return { body: 1 };
      };
      for (let i = 0; i < 3; i++) {
        same(await a.getOrSet("e", conditional, { ttl: 10 }), { body: 1 }, `conditional load ${i}`);
        await settle();
        clock.advance(11_000);
      }
      same(etags, [undefined, '"v1"', '"v1"'], "the etag is offered, and kept by notModified");
      await expectThrow(
        "setEtag(1)",
        TypeError,
        () => a.getOrSet("n", (ctx) => (ctx.setEtag(1 as never), 1)),
      );
      const read = a.cacheRead(
        { key: "r:{id}", ttl: 10 },
        ({ id }: { id: number }, ctx) => ctx.stale ? ctx.notModified() : { id, at: clock.now() },
      );
      const r1 = await read({ id: 1 });
      await settle();
      clock.advance(11_000);
      same(await read({ id: 1 }), r1, "cacheRead's loader gets the context as its second argument");
    },
  );

  withInstances(
    "loader context: notModified() refreshes the entry in place where the store can, its value not sent again",
    async (clock, a, b) => {
      const sent = { values: 0, refreshes: 0, refreshBytes: 0 };
      const big = "v".repeat(20_000); // what must not travel again
      const store: CacheStore = {
        ...a.store,
        setMany: (writes, o) => {
          sent.values += writes.filter((w) => w.value.includes(big)).length;
          return a.store.setMany(writes, o);
        },
        refreshMany: a.store.refreshMany && ((refreshes, o) => {
          sent.refreshes += refreshes.length;
          for (const r of refreshes) sent.refreshBytes += r.ifStartsWith.length + r.ifEndsWith.length;
          for (const r of refreshes) sent.refreshBytes += r.head.length + r.tail.length;
          return a.store.refreshMany!(refreshes, o);
        }),
      };
      const prefix = a.keyPrefix.split(":")[0];
      const cache = await createCache({ store, prefix, clock, deadlineMs: 5000 });
      try {
        let loads = 0;
        const options = { ttl: 10, staleTtl: 600, tags: ["cfg"] };
        const load = (ctx: LoaderContext) => (loads++, ctx.stale ? ctx.notModified() : { big });
        same(await cache.getOrSet("cfg", load, options), { big }, "first load");
        check(sent.values === 1, `the first load writes the value (${sent.values})`);
        await settle();
        clock.advance(11_000); // stale within its grace: served, and refreshed in the background
        same(await cache.getOrSet("cfg", load, options), { big }, "served stale");
        const refreshed = async () => {
          // The refresh runs in the background: waited for (bounded), beyond the store's propagation delay.
          for (let i = 0; i < 100 && await b.get("cfg") === undefined; i++) {
            await new Promise((r) => setTimeout(r, 20));
          }
          return await b.get("cfg");
        };
        same(await refreshed(), { big }, "fresh again for another instance");
        await b.invalidateTags(["cfg"], { soft: true }); // soft: the next load is offered the value too
        await settle();
        same(await cache.getOrSet("cfg", load, options), { big }, "softly invalidated: served stale");
        same(await refreshed(), { big }, "valid again under the new version");
        const before = loads;
        same(await b.getOrSet("cfg", load, options), { big }, "a hit");
        check(loads === before && loads === 3, `three loads, the last two kept the value (${loads})`);
        const values: number = sent.values; // not narrowed by the first check
        if (a.store.refreshMany) {
          check(
            values === 1 && sent.refreshes === 2 && sent.refreshBytes < 2_000,
            `refreshed in place: the value written once, two refreshes of ${sent.refreshBytes} bytes in all (${
              JSON.stringify(sent)
            })`,
          );
        } else check(values === 3, `written whole by a store that cannot refresh (${values})`);
      } finally {
        await cache.close();
      }
    },
  );

  withInstances(
    "loader context: ctx.addTags tags a result like a declared tag once its version was read before a load",
    async (clock, a, b) => {
      let loads = 0;
      const load = (ctx: LoaderContext) => (ctx.addTags("org:7"), ++loads);
      const options = { ttl: 60, tags: ["u"] };
      same(await a.getOrSet("u:1", load, options), 1, "first load");
      await settle();
      same(
        await b.get("u:1"),
        undefined,
        "its entry is not served: the tag's version was not read before it",
      );
      same(await b.getOrSet("u:1", load, options), 2, "the next load reads the tag's version first");
      await settle();
      same(await a.getOrSet("u:1", load, options), 2, "its entry is served");
      same(await poll(() => b.get("u:1"), (v) => v !== undefined), 2, "get validates it too");
      check(loads === 2, `two loads, then hits (${loads})`);
      await b.invalidateTags(["org:7"]);
      await settle();
      same(await a.get("u:1"), undefined, "an invalidation of the added tag makes it a miss for get");
      same(await a.getOrSet("u:1", load, options), 3, "and for getOrSet");
      await settle();
      same(await b.getOrSet("u:1", load, options), 3, "the load after it stores an entry that is served");
      await a.invalidateTags(["u"]);
      await settle();
      same(await b.getOrSet("u:1", load, options), 4, "declared tags still count");
      await settle();
      const forced = await a.getOrSet("u:1", load, { ...options, force: true });
      same(forced, 5, "a forced load (its caller read nothing) reads the added tags' versions first");
      await settle();
      same(await b.getOrSet("u:1", load, options), 5, "its entry is served");

      // Added tags that change between loads: only those whose versions were read before a load count.
      const sequence = [["x"], ["y"], ["x"]];
      let n = 0;
      const changing = (ctx: LoaderContext) => (ctx.addTags(...sequence[Math.min(n, 2)]), ++n);
      same(await a.getOrSet("c", changing, { ttl: 60 }), 1, "adds x");
      await settle();
      same(await a.getOrSet("c", changing, { ttl: 60 }), 2, "adds y, whose version was not read first");
      await settle();
      same(await a.getOrSet("c", changing, { ttl: 60 }), 3, "adds x again, read first");
      await settle();
      same(await b.getOrSet("c", changing, { ttl: 60 }), 3, "served");
      await b.invalidateTags(["y"]);
      await settle();
      same(await a.getOrSet("c", changing, { ttl: 60 }), 3, "y no longer tags it");
      await b.invalidateTags(["x"]);
      await settle();
      same(await a.getOrSet("c", changing, { ttl: 60 }), 4, "x does");

      let declared = 0;
      const adding = (ctx: LoaderContext) => (ctx.addTags("u", "u"), ++declared);
      same(await a.getOrSet("d", adding, options), 1, "a declared tag added");
      await settle();
      same(await a.getOrSet("d", adding, options), 1, "is the declared tag: served at once");

      // notModified() keeps the value and the tags it was stored with.
      let kept = 0;
      const conditional = (ctx: LoaderContext) => {
        if (ctx.stale) return ctx.notModified();
        ctx.addTags("org:9");
        return ++kept;
      };
      same(await a.getOrSet("m", conditional, { ttl: 10 }), 1, "first");
      await settle();
      same(await a.getOrSet("m", conditional, { ttl: 10 }), 2, "an unserved entry is not offered as stale");
      await settle();
      clock.advance(11_000);
      same(await a.getOrSet("m", conditional, { ttl: 10 }), 2, "kept");
      await settle();
      same(await b.getOrSet("m", () => 99, { ttl: 10 }), 2, "served");
      await b.invalidateTags(["org:9"]);
      await settle();
      same(await a.getOrSet("m", conditional, { ttl: 10 }), 3, "the kept value keeps its added tag");

      const expectTypeError = async (what: string, work: () => unknown) => {
        let threw: unknown;
        try {
          await work();
        } catch (error) {
          threw = error;
        }
        check(threw instanceof TypeError, `${what}: a TypeError (${threw})`);
      };
      for (const bad of ["", "\ud800", 1, undefined, null]) {
        await expectTypeError(
          `addTags(${JSON.stringify(bad)})`,
          () => a.getOrSet("bad", (ctx) => (ctx.addTags("fine", bad as never), 1), { ttl: 60 }),
        );
      }
      let late: LoaderContext | undefined;
      await a.getOrSet("late", (ctx) => (late = ctx, 1), { ttl: 60 });
      await expectTypeError("addTags after the loader settled", () => late!.addTags("t"));
    },
  );

  withInstances(
    "loader context: an added tag invalidated during a load never lets that load's value be served after",
    async (_clock, a, b) => {
      await a.set("other", 1, { ttl: 60, tags: ["org:1"] }); // the tag's version exists before the loads
      await settle();
      const tick = () => new Promise((r) => setTimeout(r, 5));
      /** A loader that reads `source` when it starts, adds org:1, and waits for `release` on load `hold`. */
      const source = { value: "old" };
      const held = (hold: number) => {
        let release!: () => void;
        const gate = new Promise<void>((r) => release = r);
        const state = { started: 0, release: () => release() };
        const load = async (ctx: LoaderContext) => {
          const value = source.value;
          ctx.addTags("org:1");
          if (++state.started === hold) await gate;
          return value;
        };
        return { state, load };
      };
      const invalidateDuring = async (state: { started: number }, started: number) => {
        while (state.started < started) await tick();
        source.value = "new";
        await b.invalidateTags(["org:1"]); // acknowledged by another process while the load runs
        await settle();
      };

      // During the first load that adds the tag.
      source.value = "old";
      const first = held(1);
      const p1 = a.getOrSet("k1", first.load, { ttl: 60 });
      await invalidateDuring(first.state, 1);
      first.state.release();
      same(await p1, "old", "the caller who started it gets its load");
      await settle();
      same(await b.get("k1"), undefined, "not served to a read that started after the invalidation");
      same(await b.getOrSet("k1", first.load, { ttl: 60 }), "new", "loaded again");

      // During a later load, which read the tag's version first.
      source.value = "old";
      const later = held(2);
      same(await a.getOrSet("k2", later.load, { ttl: 60 }), "old", "first load");
      await settle();
      const p2 = a.getOrSet("k2", later.load, { ttl: 60 });
      await invalidateDuring(later.state, 2);
      later.state.release();
      same(await p2, "old", "the caller who started it gets its load");
      await settle();
      same(await b.get("k2"), undefined, "not served after the invalidation");
      same(await b.getOrSet("k2", later.load, { ttl: 60 }), "new", "loaded again");
      await settle();
      same(await a.getOrSet("k2", later.load, { ttl: 60 }), "new", "served once loaded after it");

      // A caller of this process who starts after the invalidation, while the first load runs, does not get
      // that load's value (it may join the load: what it read does not cover the tags the load adds), whether
      // it joins while the loader runs or as it settles.
      for (const [key, waitMs] of [["k3", 50], ["k4", 0]] as const) {
        source.value = "old";
        const joined = held(1);
        const p3 = a.getOrSet(key, joined.load, { ttl: 60 });
        await invalidateDuring(joined.state, 1);
        const p4 = a.getOrSet(key, joined.load, { ttl: 60 });
        if (waitMs) await new Promise((r) => setTimeout(r, waitMs)); // it has read and joined
        joined.state.release();
        const [v3, v4] = await Promise.all([p3, p4]);
        check(v3 === "old" || v3 === "new", `${key}: the caller who started it gets a load (${v3})`);
        same(v4, "new", `${key}: a caller who started after the invalidation`);
        await settle();
        same(await b.getOrSet(key, joined.load, { ttl: 60 }), "new", `${key}: and a later read`);
      }

      // The same when a batch (getOrSetMany) runs the load and a single read joins it.
      for (const [key, waitMs] of [["k5", 50], ["k6", 0]] as const) {
        source.value = "old";
        const joined = held(1);
        const batch = (_keys: string[], ctx: readonly LoaderContext[]) =>
          Promise.all(ctx.map((c) => joined.load(c)));
        const p5 = a.getOrSetMany([key], batch, { ttl: 60 });
        await invalidateDuring(joined.state, 1);
        const p6 = a.getOrSet(key, joined.load, { ttl: 60 });
        if (waitMs) await new Promise((r) => setTimeout(r, waitMs)); // it has read and joined
        joined.state.release();
        const [[v5], v6] = await Promise.all([p5, p6]);
        check(v5 === "old" || v5 === "new", `${key}: the batch that started it gets a load (${v5})`);
        same(v6, "new", `${key}: a caller who started after the invalidation`);
        await settle();
        same(await b.getOrSet(key, joined.load, { ttl: 60 }), "new", `${key}: and a later read`);
      }
    },
  );

  integrityCases(withStore, settle);
  hostileCases(withStore, settle);
}
