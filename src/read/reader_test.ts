import assert from "node:assert/strict";
import { cacheRead, CacheTimeoutError, getMetrics, instance, invalidateTags } from "../../mod.ts";
import { deferred, freshCache, settle } from "../../tests/_helpers.ts";
import { xfetchDue } from "./xfetch.ts";
import { faultStore } from "../testing/fault_store.ts";
import { memoryStore } from "../store/memory_store.ts";

Deno.test("grace: in the stale window a hit returns the stale value and refreshes in the background", async () => {
  const { clock } = await freshCache();
  let version = 1;
  const gate = deferred<void>();
  const get = cacheRead({ key: "g", ttl: 10, staleTtl: 60 }, async () => {
    if (version > 1) await gate.promise;
    return version;
  });
  assert.equal(await get(), 1);
  version = 2;
  clock.advance(11_000);
  const handed: Promise<unknown>[] = [];
  assert.equal(await get(undefined, { waitUntil: (p) => handed.push(p) }), 1, "stale, at once");
  assert.equal(await get(), 1, "still stale while the refresh runs");
  assert.equal(handed.length, 1, "one refresh, handed to waitUntil");
  gate.resolve();
  await handed[0];
  assert.equal(await get(), 2, "fresh after the refresh");
  const m = getMetrics();
  assert.deepEqual([m["cache.stale"], m["cache.refresh"]], [2, 1]);
});

Deno.test("grace: a failing refresh keeps serving the stale value, backs off, then recovers", async () => {
  const { clock } = await freshCache();
  let fail = false, loads = 0;
  const get = cacheRead({ key: "sie", ttl: 10, staleTtl: 600, refreshBackoffMs: 5000 }, () => {
    loads++;
    if (fail) throw new Error("origin down");
    return `v${loads}`;
  });
  assert.equal(await get(), "v1");
  fail = true;
  clock.advance(11_000);
  assert.equal(await get(), "v1", "stale served, refresh fails in the background");
  await settle();
  assert.equal(await get(), "v1");
  assert.equal(loads, 2, "no retry during the backoff");
  assert.equal(getMetrics()["cache.refresh.error"], 1);
  clock.advance(5_000);
  fail = false;
  assert.equal(await get(), "v1", "still stale while the retry runs");
  await settle();
  assert.equal(await get(), "v3", "recovered");
});

Deno.test("grace: past staleTtl, or after an invalidation, the stale value is never served", async () => {
  const { clock } = await freshCache();
  let loads = 0;
  const get = cacheRead({ key: "gx", tags: ["t"], ttl: 10, staleTtl: 20 }, () => ++loads);
  await get();
  clock.advance(31_000);
  assert.equal(await get(), 2, "past the grace window: a miss");
  await invalidateTags("t");
  clock.advance(11_000);
  assert.equal(await get(), 3, "invalidated: a miss even inside the grace window");
});

Deno.test("soft timeout: in the stale window the caller waits at most timeoutMs for the refresh", async () => {
  const { clock } = await freshCache();
  let slow = false;
  const gate = deferred<void>();
  let version = 1;
  const get = cacheRead({ key: "soft", ttl: 10, staleTtl: 60, timeoutMs: 30 }, async () => {
    if (slow) await gate.promise;
    return version;
  });
  await get();
  clock.advance(11_000);
  version = 2;
  assert.equal(await get(), 2, "a quick refresh is waited for");
  clock.advance(11_000);
  version = 3;
  slow = true;
  const t0 = performance.now();
  assert.equal(await get(), 2, "a slow refresh: the stale value after the soft timeout");
  assert.ok(performance.now() - t0 < 1000);
  gate.resolve();
  await settle();
  await settle();
  assert.equal(await get(), 3, "the slow refresh still lands");
});

Deno.test("hard timeout: a slow load fails with CacheTimeoutError, then completes and is stored", async () => {
  await freshCache();
  const gate = deferred<void>();
  let loads = 0;
  const get = cacheRead({ key: "hard", ttl: 60, hardTimeoutMs: 20 }, async function getSlow() {
    loads++;
    await gate.promise;
    return "late";
  });
  await assert.rejects(
    get(),
    (e) => e instanceof CacheTimeoutError && /Cannot load getSlow: no value within 20 ms/.test(e.message),
  );
  gate.resolve();
  await settle();
  assert.equal(await get(), "late", "the load went on and was stored");
  assert.equal(loads, 1);
});

Deno.test("xfetch: decides exactly as now - loadMs·β·ln(r) >= expiry", () => {
  const cases: [number, number, number, number, number, boolean][] = [
    // now, expiry, loadMs, beta, r, due
    [90, 100, 5, 1, 0.5, false], // 90 + 3.47 < 100
    [90, 100, 5, 1, 0.1, true], // 90 + 11.5 >= 100
    [99, 100, 1, 1, 0.9, false],
    [99, 100, 1, 1, 0.3, true],
    [50, 100, 5, 10, 0.3, true], // β = 10: 50 + 60.2
    [100, 100, 0, 1, 1, true], // at expiry, always
  ];
  for (const [now, expiry, loadMs, beta, r, due] of cases) {
    assert.equal(xfetchDue(now, expiry, loadMs, beta, () => r), due, JSON.stringify({ now, r }));
  }
});

Deno.test("xfetch: refreshes of many keys spread out before expiry instead of landing together", async () => {
  const { clock } = await freshCache({ random: Math.random });
  const keys = 300, LOAD_MS = 5000;
  const refreshedAt = new Map<number, number>();
  let creating = true;
  const get = cacheRead(
    { key: "x:{id}", ttl: 100, earlyRefresh: "probabilistic" },
    ({ id }: { id: number }) => {
      if (creating) clock.advance(LOAD_MS); // a 5 s load, measured by the cache's clock
      else if (!refreshedAt.has(id)) refreshedAt.set(id, clock.now());
      return id;
    },
  );
  const start = clock.now();
  for (let id = 0; id < keys; id++) {
    await get({ id });
    clock.advance(-LOAD_MS); // every entry written at start + 5 s
  }
  creating = false;
  const expiry = start + LOAD_MS + 100_000;
  while (refreshedAt.size < keys && clock.now() < expiry) {
    clock.advance(1000);
    for (let id = 0; id < keys; id++) if (!refreshedAt.has(id)) await get({ id });
    await settle();
  }
  const before = [...refreshedAt.values()].map((t) => (expiry - t) / 1000);
  assert.equal(before.length, keys, "every key refreshed by expiry");
  assert.ok(before.every((s) => s >= 0), "never after expiry");
  const mean = before.reduce((a, b) => a + b, 0) / keys;
  // One read a second refreshes with probability exp(-s / 5) at s seconds before expiry: about 10 s early on average.
  assert.ok(mean > 5 && mean < 16, `mean refresh ${mean.toFixed(1)} s before expiry`);
  assert.ok(new Set(before).size >= 8, `spread over ${new Set(before).size} distinct seconds`);
});

Deno.test("xfetch: slower loads refresh earlier (loadMs comes from the cache's clock)", async () => {
  const { clock } = await freshCache({ random: () => Math.exp(-1) }); // ln(r) = -1: due when now + loadMs·β >= expiry
  const refreshedAt: Record<number, number> = {};
  const started = clock.now();
  let warm = true;
  const get = cacheRead(
    { key: "xs:{ms}", ttl: 100, earlyRefresh: "probabilistic", beta: 2 },
    ({ ms }: { ms: number }) => {
      if (warm) clock.advance(ms);
      else if (!(ms in refreshedAt)) refreshedAt[ms] = (clock.now() - started) / 1000;
      return ms;
    },
  );
  await get({ ms: 1000 }); // fresh until started + 101 s
  await get({ ms: 10_000 }); // fresh until started + 111 s
  warm = false;
  clock.advance(started - clock.now());
  for (let s = 0; s < 100; s++) {
    clock.advance(1000);
    for (const ms of [1000, 10_000]) await get({ ms });
    await settle();
  }
  // β·loadMs = 2 s and 20 s before expiry.
  assert.deepEqual(refreshedAt, { 1000: 99, 10000: 91 });
});

Deno.test("lock: 1000 concurrent cold callers load once, and a lock held elsewhere makes them wait", async () => {
  const { clock } = await freshCache({ lock: { ttlMs: 5000, pollMs: 5 } });
  let loads = 0;
  const gate = deferred<void>();
  const get = cacheRead({ key: "hot", ttl: 60 }, async () => {
    loads++;
    await gate.promise;
    return "v";
  });
  const callers = Array.from({ length: 1000 }, () => get());
  gate.resolve();
  assert.ok((await Promise.all(callers)).every((v) => v === "v"));
  assert.equal(loads, 1);
  // Another process holds the lock of a cold key: this one waits, then loads once the lock's ttl has passed.
  const store = instance().store;
  await store.setMany([{ key: `${instance().keyPrefix}l:other`, value: "someone-else", ttlMs: 60_000 }]);
  const other = cacheRead({ key: "other", ttl: 60 }, () => (loads++, "mine"));
  const waiting = other();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(loads, 1, "waiting for the holder");
  assert.equal(getMetrics()["cache.lock.wait"], 1);
  clock.advance(5000);
  assert.equal(await waiting, "mine");
  assert.equal(loads, 2);
  assert.equal(getMetrics()["cache.lock.timeout"], 1);
});

Deno.test("lock: a waiter takes the value the holder stores, without loading", async () => {
  await freshCache({ lock: { ttlMs: 60_000, pollMs: 5 } });
  const store = instance().store, ns = instance().keyPrefix;
  await store.setMany([{ key: `${ns}l:shared`, value: "other-process", ttlMs: 60_000 }]);
  let loads = 0;
  const get = cacheRead({ key: "shared", ttl: 60 }, () => (loads++, "mine"));
  const producer = cacheRead({ key: "shared", ttl: 60, lock: false }, () => "theirs");
  const waiting = get();
  await new Promise((r) => setTimeout(r, 20));
  await producer.refresh(); // the "other process" stores its value
  assert.equal(await waiting, "theirs");
  assert.equal(loads, 0);
});

Deno.test("lock: a waiter that gets the lock after the holder stored and released takes the stored value", async () => {
  // The race: the waiter's poll reads before the holder's write lands, and its next try at the lock comes
  // after the holder has released it. The poll's reply is held here until both have happened.
  const store = faultStore(memoryStore(), { inProcess: true });
  const getMany = store.getMany;
  let holdNext = false;
  const pollRead = deferred<void>(), gate = deferred<void>();
  store.getMany = async (keys, options) => {
    const values = await getMany(keys, options);
    if (holdNext) {
      holdNext = false;
      pollRead.resolve();
      await gate.promise;
    }
    return values;
  };
  await freshCache({ store, lock: { ttlMs: 60_000, pollMs: 5 } });
  const lockKey = `${instance().keyPrefix}l:race`;
  await store.setMany([{ key: lockKey, value: "other-process", ttlMs: 60_000 }]);
  let loads = 0;
  const get = cacheRead({ key: "race", ttl: 60 }, () => (loads++, "mine"));
  const producer = cacheRead({ key: "race", ttl: 60, lock: false }, () => "theirs");
  const waiting = get();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(getMetrics()["cache.lock.wait"], 1, "waiting for the holder");
  holdNext = true;
  await pollRead.promise; // the poll has read: nothing stored yet
  await producer.refresh(); // the holder stores its value...
  await store.deleteMany([lockKey]); // ...and releases the lock
  gate.resolve();
  assert.equal(await waiting, "theirs");
  assert.equal(loads, 0, "no second load: the lock was free, but the value was there");
});

Deno.test("lock: early refresh runs once per cluster - a refresh locked elsewhere is not repeated here", async () => {
  const { clock } = await freshCache({ lock: { ttlMs: 60_000, pollMs: 5 } });
  let loads = 0;
  const get = cacheRead({ key: "er", ttl: 100, earlyTtl: 50 }, () => ++loads);
  await get();
  const store = instance().store, ns = instance().keyPrefix;
  await store.setMany([{ key: `${ns}l:er`, value: "refreshing-elsewhere", ttlMs: 60_000 }]);
  clock.advance(51_000);
  const handed: Promise<unknown>[] = [];
  assert.equal(await get(undefined, { waitUntil: (p) => handed.push(p) }), 1);
  await handed[0];
  assert.equal(loads, 1, "the other process refreshes; this one found the entry fresh and stopped");
  await store.deleteMany([`${ns}l:er`]);
  assert.equal(await get(undefined, { waitUntil: (p) => handed.push(p) }), 1);
  await handed[1];
  assert.equal(loads, 2, "with the lock free, this process refreshes");
  assert.equal(await get(), 2);
});

Deno.test("lock: a holder whose load fails releases the lock at once", async () => {
  await freshCache({ lock: { ttlMs: 60_000, pollMs: 5 } });
  let attempt = 0;
  const get = cacheRead({ key: "fails", ttl: 60 }, () => {
    if (++attempt === 1) throw new Error("boom");
    return "ok";
  });
  await assert.rejects(get(), /boom/);
  await settle();
  const ns = instance().keyPrefix;
  assert.deepEqual(await instance().store.getMany([`${ns}l:fails`]), [null], "lock released");
  const t0 = performance.now();
  assert.equal(await get(), "ok");
  assert.ok(performance.now() - t0 < 1000, "no wait for the lock's ttl");
});

Deno.test("read options: bad grace, timeout, beta and lock values are RangeErrors", () => {
  assert.throws(() => cacheRead({ key: "a", staleTtl: -1 }, () => 1), /staleTtl must be seconds >= 0/);
  assert.throws(() => cacheRead({ key: "a", timeoutMs: NaN }, () => 1), /timeoutMs must be a number >= 0/);
  assert.throws(() => cacheRead({ key: "a", beta: -2 }, () => 1), /beta must be a number >= 0/);
  assert.throws(
    () => cacheRead({ key: "a", lock: { ttlMs: 0 } }, () => 1),
    /lock.ttlMs must be a positive number/,
  );
  assert.throws(() => cacheRead({ key: "a", earlyRefresh: "sometimes" as never }, () => 1), TypeError);
});

Deno.test("zeroCopy: hits share one deep-frozen value; the default hands every caller its own copy", async () => {
  await freshCache();
  const shared = cacheRead({ key: "zc", ttl: 60, zeroCopy: true }, () => ({ list: [{ n: 1 }] }));
  const copied = cacheRead({ key: "cp", ttl: 60 }, () => ({ list: [{ n: 1 }] }));
  await shared();
  const [a, b] = [await shared(), await shared()];
  assert.equal(a, b);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.list[0]));
  assert.throws(() => (a.list[0] as { n: number }).n = 2, TypeError);
  await copied();
  const [c, d] = [await copied(), await copied()];
  assert.notEqual(c, d);
  c.list[0].n = 2;
  assert.equal((await copied()).list[0].n, 1);
});

Deno.test("grace: failed refreshes of many keys keep the back-off memory bounded", async () => {
  const { memoryStore } = await import("../store/memory_store.ts");
  const BATCH = 1000;
  // A batch must fit the store's small queue (a tenth of it), so each batch's entries are there to go stale.
  const { clock } = await freshCache({ store: memoryStore({ maxEntries: 20 * BATCH }) });
  let failing = false;
  const get = cacheRead({ key: "b:{id}", ttl: 10, staleTtl: 600 }, ({ id }: { id: number }) => {
    if (failing) throw new Error("origin down");
    return id;
  });
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, "run with --v8-flags=--expose-gc (npm test does) to measure retained memory");
  const churn = async (from: number, count: number) => {
    for (let start = from; start < from + count; start += BATCH) {
      const ids = Array.from({ length: BATCH }, (_, i) => start + i);
      failing = false;
      await Promise.all(ids.map((id) => get({ id })));
      clock.advance(11_000); // stale: the next hit refreshes in the background, and that refresh fails
      failing = true;
      for (const value of await Promise.all(ids.map((id) => get({ id })))) assert.ok(value >= start);
      while (getMetrics()["cache.refresh.error"] < start + BATCH) await settle();
      clock.advance(-11_000);
    }
  };
  await churn(0, 20_000); // past the bound, so what follows measures steady state
  gc();
  const before = Deno.memoryUsage().heapUsed;
  await churn(20_000, 100_000);
  gc();
  const grown = Deno.memoryUsage().heapUsed - before;
  assert.equal(getMetrics()["cache.refresh.error"], 120_000, "every refresh failed and was remembered");
  assert.ok(
    grown < 2 << 20,
    `100,000 more failing keys grew the heap by ${(grown / 2 ** 20).toFixed(1)} MiB`,
  );
});

Deno.test("grace: a softly invalidated entry whose value cannot be revived is reported, deleted and reloaded, as a stale one is", async () => {
  class Money {
    constructor(readonly cents: number) {}
  }
  let damaged = false;
  const { logger } = await freshCache({
    types: {
      Money: [(v) => v instanceof Money && v.cents, (cents: number) => {
        if (damaged) throw new Error("unreadable");
        return new Money(cents);
      }],
    },
  });
  let loads = 0;
  const get = cacheRead({ key: "money", ttl: 60, staleTtl: 600, tags: ["money"] }, () => new Money(++loads));
  assert.equal((await get()).cents, 1);
  await instance().invalidateTags(["money"], { soft: true });
  damaged = true;
  assert.equal((await get()).cents, 2, "loaded afresh");
  assert.equal(loads, 2);
  assert.equal(logger.at("warn").filter((m) => m.includes("unreadable entry")).length, 1, "reported once");
  assert.equal(getMetrics()["cache.error"], 1, "counted");
  damaged = false;
  assert.equal((await get()).cents, 2, "the reloaded entry hits");
  assert.equal(loads, 2);
});
