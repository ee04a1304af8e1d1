/**
 * The fault suite: the failure and bad-input cases a cache must survive (backend down, dying and recovering,
 * slow, hanging, corrupt, refusing large values, flaky; invalidations while down; clock skew; TTL edge cases),
 * run against any store through {@linkcode faultStore}.
 *
 * @example
 * ```ts ignore
 * import { testFaults } from "@svc-infra/cache/testing";
 * import { memoryStore } from "@svc-infra/cache/adapters/memory";
 * testFaults("memory", () => memoryStore());
 * ```
 *
 * @module
 */

import type { CacheStore } from "../store/store.ts";
import type { Logger } from "../engine/context.ts";
import {
  cacheRead,
  CacheTimeoutError,
  closeCache,
  createCache,
  getMetrics,
  initCache,
  instance,
  invalidateTags,
  resetMetrics,
} from "../../mod.ts";
import type { CacheOptions } from "../api/open.ts";
import { twoLevel } from "../l1/mod.ts";
import { type FaultStore, faultStore } from "./fault_store.ts";
import type { TestRegistrar } from "./conformance.ts";

class Clock {
  #now = Date.now();
  now = () => this.#now;
  advance(ms: number) {
    this.#now += ms;
  }
}

class Lines implements Logger {
  warnings: string[] = [];
  debug() {}
  info() {}
  warn = (m: string) => void this.warnings.push(m);
  error = (m: string) => void this.warnings.push(m);
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`Fault suite: ${message}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Another process on the same store, whose invalidations reach this one's L1 by its bound alone (no push). */
const unheardProcess = (c: Ctx) =>
  createCache({ store: { ...c.inner, publish: undefined }, prefix: c.ns, clock: c.clock });
/** Short enough to keep the suite quick, long enough that a loaded CI machine answers a healthy store within it. */
const DEADLINE_MS = 250;

/** A promise the test settles, to hold a load open while something else happens. */
function gate<T>(): { promise: Promise<T>; open(value: T): void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => open = resolve);
  return { promise, open };
}

async function waitFor(condition: () => boolean | Promise<boolean>, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await condition()) && Date.now() < until) await sleep(5);
  check(await condition(), "timed out waiting");
}

interface Ctx {
  store: FaultStore;
  inner: CacheStore;
  clock: Clock;
  logger: Lines;
  ns: string;
}

/** Registers the fault cases for a store; `factory` makes a fresh store per case. */
export function testFaults(
  name: string,
  factory: () => CacheStore | Promise<CacheStore>,
  test: TestRegistrar = defaultRegistrar(),
): void {
  /** `options` are added to the suite's `initCache` options (an `l1`, a longer deadline). */
  const withFaults = (title: string, fn: (ctx: Ctx) => Promise<void>, options: CacheOptions = {}) =>
    test(`${name} faults: ${title}`, async () => {
      const inner = await factory();
      const store = faultStore(inner);
      const clock = new Clock(), logger = new Lines();
      const ns = `fault${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
      await initCache({
        store,
        clock,
        logger,
        prefix: ns,
        deadlineMs: DEADLINE_MS,
        breakerThreshold: 3,
        breakerCooldownMs: 1000,
        retryMaxMs: 100,
        ...options,
      });
      resetMetrics();
      try {
        await fn({ store, inner, clock, logger, ns });
      } finally {
        store.fault = { mode: "none" };
        await closeCache();
        await inner.close?.();
      }
    });
  const user = () => {
    const db = new Map<number, string>([[1, "v1"]]);
    let loads = 0;
    const get = cacheRead(
      { key: "u:{id}", tags: ["user:{id}"], ttl: 60 },
      ({ id }: { id: number }) => (loads++, db.get(id) ?? null),
    );
    return { db, get, loads: () => loads };
  };

  /** A reader whose first load waits for the test to open its gate. */
  const gatedUser = () => {
    const db = new Map<number, string>([[1, "v1"]]);
    const first = gate<void>();
    let loads = 0;
    const get = cacheRead(
      { key: "u:{id}", tags: ["user:{id}"], ttl: 60 },
      async ({ id }: { id: number }) => {
        const value = db.get(id) ?? null; // read at the load's start
        if (loads++ === 0) await first.promise;
        return value;
      },
    );
    return { db, get, loads: () => loads, open: () => first.open() };
  };

  withFaults("a per-entry invalidate made during a load is not undone by that load", async () => {
    const { db, get, loads, open } = gatedUser();
    const slow = get({ id: 1 });
    await waitFor(() => loads() === 1);
    db.set(1, "v2");
    check((await get.invalidate({ id: 1 })).delivered, "delivered");
    open();
    check((await slow) === "v1", "the early caller gets what its load read");
    check((await get({ id: 1 })) === "v2", "the load did not restore its value over the invalidation");
    check((await get({ id: 1 })) === "v2", "and the fresh value is what is cached");
  }, { deadlineMs: DEADLINE_MS * 4 }); // delivered within the call, also on workerd over HTTP under load

  withFaults(
    "another process deleting the entry during a load: the load's write fails, no stale read",
    async (c) => {
      const { db, get, loads, open } = gatedUser();
      const slow = get({ id: 1 });
      await waitFor(() => loads() === 1);
      db.set(1, "v2");
      await c.inner.deleteMany([`${c.ns}:v1:e:u:1`]); // what another process's get.invalidate does
      open();
      await slow;
      check((await get({ id: 1 })) === "v2", "the in-flight load's conditional write lost to the delete");
    },
  );

  withFaults("another process invalidating a tag during a load: later callers do not join it", async (c) => {
    const { db, get, loads, open } = gatedUser();
    const slow = get({ id: 1 });
    await waitFor(() => loads() === 1);
    db.set(1, "v2");
    await c.inner.deleteMany([`${c.ns}:v1:t:user:1`]); // another process's invalidateTags
    const after = get({ id: 1 }); // starts after that invalidation
    await sleep(DEADLINE_MS / 4);
    open();
    check((await slow) === "v1", "the early caller");
    check((await after) === "v2", "a caller that saw the new state runs its own load");
    check((await get({ id: 1 })) === "v2", "and no stale entry is served afterwards");
  });

  withFaults(
    "an invalidation applied late, after its retry landed, never brings an old version back",
    async (c) => {
      const { db, get } = user();
      await get({ id: 1 });
      c.store.fault = { mode: "late", ms: 4 * DEADLINE_MS }; // requests land after the client gave up
      db.set(1, "v2");
      check(!(await invalidateTags("user:1")).delivered, "timed out: queued");
      c.store.fault = { mode: "none" };
      c.clock.advance(2000); // past the breaker's cooldown
      await waitFor(() => getMetrics()["cache.invalidate.pending"] === 0);
      check((await get({ id: 1 })) === "v2", "the retry landed");
      db.set(1, "v3");
      check((await invalidateTags("user:1")).delivered, "delivered");
      check((await get({ id: 1 })) === "v3", "v3 cached");
      await sleep(6 * DEADLINE_MS); // the first, late request reaches the store now
      check(
        (await get({ id: 1 })) === "v3",
        "the late request did not restore the version v2 was stored under",
      );
    },
  );

  withFaults(
    "L1, past its bound, honours another process's clear() of a parent namespace and invalidation of an added tag",
    async (c) => {
      const cache = instance();
      const other = await unheardProcess(c);
      try {
        let version = 1;
        const load = (ctx: { addTags(...tags: string[]): void }) => (ctx.addTags("org:1"), `v${version}`);
        check((await cache.getOrSet("o", load, { ttl: 60 })) === "v1", "loaded");
        // Stored servable by its second load, the first whose claim read the added tag's version.
        check((await cache.getOrSet("o", load, { ttl: 60 })) === "v1", "loaded again, with the tag known");
        const nested = cache.namespace("x").namespace("y");
        check((await nested.getOrSet("k", () => "old", { ttl: 60 })) === "old", "loaded in a namespace");
        c.clock.advance(1); // later than what this process forgot while loading (L1 refuses what it vouched before)
        check((await cache.get("o")) === "v1" && (await nested.get("k")) === "old", "kept in L1");
        for (
          const [what, read, value] of [["o", () => cache.get("o"), "v1"], [
            "k",
            () => nested.get("k"),
            "old",
          ]] as const
        ) {
          const held = getMetrics()["cache.l1.hit"];
          check((await read()) === value, `${what}: served`);
          check(getMetrics()["cache.l1.hit"] === held + 1, `${what}: from L1`);
        }
        version = 2;
        check((await other.invalidateTags(["org:1"])).delivered, "the added tag invalidated elsewhere");
        check((await other.namespace("x").clear()).delivered, "the parent namespace cleared elsewhere");
        c.clock.advance(1_500); // past L1's bound
        check((await cache.get("o")) === undefined, "get: the invalidated entry is a miss");
        check((await cache.getOrSet("o", load, { ttl: 60 })) === "v2", "getOrSet loads afresh");
        check((await nested.get("k")) === undefined, "get: the cleared namespace's entry is a miss");
        check((await nested.getOrSet("k", () => "new", { ttl: 60 })) === "new", "and is loaded afresh");
      } finally {
        await other.close();
      }
    },
    { l1: twoLevel({ maxStaleMs: 1000 }), deadlineMs: DEADLINE_MS * 4 },
  );

  withFaults(
    "L1 dates a validation by when it was issued: a slow answer does not extend its bound",
    async (c) => {
      const cache = instance();
      const other = await unheardProcess(c);
      try {
        let version = 1;
        const read = () => cache.getOrSet("k", () => `v${version}`, { ttl: 60, tags: ["t"] });
        check((await read()) === "v1" && (await read()) === "v1", "loaded and held");
        c.clock.advance(1_500); // due for validation
        c.store.fault = { mode: "slow-replies", ms: 300 };
        const slow = read(); // its validation reads the store now (T), and its answer comes 300 ms later
        await sleep(50);
        c.clock.advance(100);
        version = 2;
        check((await other.invalidateTags(["t"])).delivered, "invalidated elsewhere at T + 100");
        c.clock.advance(800); // the answer, of the state before, arrives at T + 900
        check((await slow) === "v1", "the read that started before the invalidation");
        c.store.fault = { mode: "none" };
        c.clock.advance(300); // T + 1200: past the bound after the invalidation, within it after the answer
        check((await read()) === "v2", "not the value the invalidation replaced");
      } finally {
        await other.close();
      }
    },
    { l1: twoLevel({ maxStaleMs: 1000 }), deadlineMs: DEADLINE_MS * 4 },
  );

  withFaults("getOrSetMany loses to an invalidation made elsewhere while it loads", async (c) => {
    const cache = instance();
    const other = await createCache({ store: c.inner, prefix: c.ns, clock: c.clock });
    try {
      const held = gate<void>();
      let loading = false, version = 1;
      const many = () =>
        cache.getOrSetMany(["a", "b"], async (keys) => {
          const read = version; // the data, as read when the load began
          loading = true;
          if (read === 1) await held.promise;
          return keys.map((key) => `${key}${read}`);
        }, { ttl: 60, tags: ["t"] });
      const first = many();
      await waitFor(() => loading); // claimed: its versions are read
      check((await other.invalidateTags(["t"])).delivered, "invalidated elsewhere during the load");
      version = 2;
      held.open();
      check((await first).join() === "a1,b1", "its callers get what it loaded");
      check(
        (await cache.get("a")) === undefined && (await cache.get("b")) === undefined,
        "stored as nothing valid",
      );
      check((await many()).join() === "a2,b2", "the next call loads afresh");
      check((await other.getMany(["a", "b"])).join() === "a2,b2", "and another process reads that");
    } finally {
      await other.close();
    }
  });

  withFaults(
    "a caller waiting on a lock held elsewhere when the store fails: served within its deadline",
    async (c) => {
      for (const fault of [{ mode: "hang" } as const, { mode: "throw" } as const]) {
        const key = `locked-${fault.mode}`;
        // Held by another process that will not finish: written straight into the store.
        await c.inner.setMany([{ key: `${c.ns}:v1:l:${key}`, value: "elsewhere", ttlMs: 60_000 }]);
        const reading = instance().getOrSet(key, () => "loaded", {
          ttl: 60,
          lock: { ttlMs: 10_000, pollMs: 20 },
        });
        await sleep(60); // waiting for the lock
        c.store.fault = fault;
        const failed = performance.now();
        check((await reading) === "loaded", `${fault.mode}: the loader's value`);
        const ms = performance.now() - failed;
        // One deadline (and the loader) after the failure, far from the lock's 10 s.
        check(
          ms < DEADLINE_MS * 3 + 150,
          `${fault.mode}: ${ms.toFixed(0)} ms after the failure, not the lock's ttl`,
        );
        c.store.fault = { mode: "none" };
        c.clock.advance(2_000); // past the breaker's cooldown
      }
    },
    { breakerThreshold: 1000, deadlineMs: DEADLINE_MS * 2 }, // also on workerd over HTTP under load
  );

  withFaults(
    "a full backend (writes refused, OOM): invalidations still land, every process misses",
    async (c) => {
      const { db, get } = user();
      const tagKey = `${c.ns}:v1:t:user:1`;
      let before: string | null = null;
      // A first read that timed out on a loaded machine made no version yet: read until there is one.
      await waitFor(async () => {
        await get({ id: 1 });
        [before] = await c.inner.getMany([tagKey]);
        return before !== null;
      });
      c.store.fault = { mode: "oom" };
      db.set(1, "v2");
      check((await invalidateTags("user:1")).delivered, "a delete works under OOM: delivered");
      check(
        (await c.inner.getMany([tagKey]))[0] !== before,
        "the stored entry's version is gone for everyone",
      );
      check((await get({ id: 1 })) === "v2", "the reader gets the new value");
      db.set(1, "v3");
      check((await get.invalidate({ id: 1 })).delivered, "a per-entry invalidation too");
      check((await get({ id: 1 })) === "v3", "and is honoured");
    },
  );

  withFaults("hardTimeoutMs with a loader that never settles does not block the key", async () => {
    let calls = 0;
    const get = cacheRead(
      // The limit covers the whole call, store round trips included: room for a loaded machine's.
      { key: "hang", ttl: 60, hardTimeoutMs: 300 },
      () => calls++ === 0 ? new Promise<string>(() => {}) : "ok",
    );
    let timedOut = false;
    try {
      await get();
    } catch (error) {
      timedOut = error instanceof CacheTimeoutError;
    }
    check(timedOut, "the first call times out");
    check((await get()) === "ok", "the next call starts a new load");
  });

  withFaults("a hung backend costs one deadline per call, with or without a lock", async (c) => {
    c.store.fault = { mode: "hang" };
    for (const lock of [false, true]) {
      const get = cacheRead({ key: `hung:${lock}`, ttl: 60, lock }, () => "v");
      const started = performance.now();
      check((await get()) === "v", "the loader's value");
      const ms = performance.now() - started;
      check(
        ms < DEADLINE_MS * 1.5,
        `lock ${lock}: took ${ms.toFixed(0)} ms for a ${DEADLINE_MS} ms deadline`,
      );
      c.clock.advance(2000); // let the breaker probe again, so the next call meets the hang too
    }
  });

  withFaults(
    "a lock whose acquisition landed after the client gave up is released once the store answers",
    async (c) => {
      const get = cacheRead({ key: "locked", ttl: 60, lock: true }, () => "v");
      const lockKey = `${c.ns}:v1:l:locked`;
      c.store.fault = { mode: "late", ms: DEADLINE_MS / 5, writesOnly: true };
      check((await get()) === "v", "loaded without the lock");
      await sleep(DEADLINE_MS / 2);
      check((await c.inner.getMany([lockKey]))[0] !== null, "the late SET NX took the lock for nobody");
      c.store.fault = { mode: "none" };
      const released = performance.now();
      await waitFor(async () => (await c.inner.getMany([lockKey]))[0] === null);
      const ms = performance.now() - released;
      check(ms < 500, `released ${ms.toFixed(0)} ms after the store answered again`);
    },
  );

  withFaults("backend down from the start: loader values, one log line, no caller error", async (c) => {
    c.store.fault = { mode: "throw" };
    const { get, loads } = user();
    for (let i = 0; i < 20; i++) check((await get({ id: 1 })) === "v1", "the loader's value");
    check(loads() === 20, "every call loaded");
    check(
      getMetrics()["cache.error"] >= 1 && getMetrics()["cache.breaker.open"] === 1,
      "counted, breaker open",
    );
    check(c.logger.warnings.length === 1, `one log line, got ${c.logger.warnings.length}`);
    check(c.store.calls <= 6, `the open breaker skips the store (calls: ${c.store.calls})`);
  });

  withFaults("dying mid-run and recovering: served throughout, hits resume after the cooldown", async (c) => {
    const { get, loads } = user();
    await get({ id: 1 });
    await get({ id: 1 });
    check(loads() === 1, "a hit before the outage");
    c.store.fault = { mode: "throw" };
    for (let i = 0; i < 5; i++) check((await get({ id: 1 })) === "v1", "served during the outage");
    c.store.fault = { mode: "none" };
    c.clock.advance(1000);
    await get({ id: 1 }); // the probe
    const before = loads();
    await get({ id: 1 });
    check(loads() === before, "hits again after recovery");
  });

  withFaults("slow and hanging backend: each call bounded by the deadline", async (c) => {
    const { get } = user();
    for (const fault of [{ mode: "delay", ms: 1000 } as const, { mode: "hang" } as const]) {
      c.store.fault = fault;
      const t0 = performance.now();
      check((await get({ id: 1 })) === "v1", `${fault.mode}: the loader's value`);
      const took = performance.now() - t0;
      // Under the 1000 ms delay: the call does not wait the slow store out.
      check(took < DEADLINE_MS * 3, `${fault.mode}: ${took.toFixed(0)} ms, bounded by the deadline`);
    }
  });

  withFaults("a write delayed past an invalidation never serves the old value", async (c) => {
    const { db, get, loads } = user();
    c.store.fault = { mode: "delay", ms: DEADLINE_MS * 3, writesOnly: true };
    check((await get({ id: 1 })) === "v1", "the first value"); // its write lands late, after what follows
    c.store.fault = { mode: "none" };
    c.clock.advance(1000);
    db.set(1, "v2");
    await invalidateTags("user:1");
    check((await get({ id: 1 })) === "v2", "the new value");
    await sleep(DEADLINE_MS * 4); // the old write has landed by now
    check((await get({ id: 1 })) === "v2", "still the new value after the late write");
    check(loads() >= 2, "loaded again");
  });

  withFaults(
    "a hit whose loader-added tags cannot be read is a miss the loader answers, never an error",
    async (c) => {
      const cache = instance();
      let version = 1;
      const read = () => cache.getOrSet("d", (ctx) => (ctx.addTags("item"), `v${version}`), { ttl: 60 });
      check((await read()) === "v1" && (await read()) === "v1", "loaded, then a hit");
      const getMany = c.store.getMany;
      let reads = 0;
      // The hit's second request (the added tags' versions) fails, as on a dropped connection.
      c.store.getMany = (keys, o) =>
        ++reads === 2 ? Promise.reject(new Error("read ECONNRESET")) : getMany(keys, o);
      try {
        version = 2;
        check((await read()) === "v2", "the loader's value");
        check(reads >= 2, `the tags' read was made: ${reads} reads`);
      } finally {
        c.store.getMany = getMany;
      }
    },
  );

  for (const l1 of [false, true]) {
    withFaults(
      `a read made once its own process's invalidation started never gets what it replaces${
        l1 ? " (L1)" : ""
      }`,
      async (c) => {
        const { db, get, loads } = user();
        check((await get({ id: 1 })) === "v1", "loaded");
        db.set(1, "v2");
        // The read's answer comes after the invalidation landed, but holds the store's state from before it.
        c.store.fault = { mode: "slow-replies", ms: DEADLINE_MS / 2 };
        const invalidating = invalidateTags("user:1");
        const read = get({ id: 1 });
        const { delivered } = await invalidating;
        c.store.fault = { mode: "none" };
        check(delivered, "delivered");
        const value = await read;
        check(value === "v2", `the new value, got ${value}`);
        check(loads() === 2, `loaded again: ${loads()} loads`);
      },
      l1 ? { l1: twoLevel({ maxStaleMs: 60_000 }), deadlineMs: DEADLINE_MS * 4 } : {},
    );
  }

  withFaults(
    "set wins over a load that claimed the key before it, whichever write lands first",
    async (c) => {
      const cache = instance();
      const loading = gate<void>();
      let loaderStarted = false;
      const older = cache.getOrSet("k", async () => {
        loaderStarted = true;
        await loading.promise;
        return "value-of-the-older-load";
      }, { ttl: 60 });
      await waitFor(() => loaderStarted); // claimed: its marker is in the store
      const setMany = c.store.setMany;
      const olderStored = gate<void>();
      let setHeld = false;
      // set's entry write is held until the older load's write was answered (a slow link).
      c.store.setMany = async (writes, o) => {
        if (writes.some((w) => w.value.includes("value-of-set"))) setHeld = true, await olderStored.promise;
        const stored = await setMany(writes, o);
        if (writes.some((w) => w.value.includes("value-of-the-older-load"))) olderStored.open();
        return stored;
      };
      try {
        const setting = cache.set("k", "value-of-set", { ttl: 60 });
        await waitFor(() => setHeld);
        loading.open();
        await Promise.all([older, setting]);
      } finally {
        c.store.setMany = setMany;
      }
      check((await cache.get("k")) === "value-of-set", `set's value, got ${await cache.get("k")}`);
    },
  );

  withFaults(
    "overlapping sets of a key leave one of their values, never an older one; a set after them wins",
    async () => {
      // Which one: the one called last where the store answers in order (memory, Redis; see cache_test.ts).
      // A set whose call passed its deadline stores nothing, and its marker may land later: then a miss.
      const cache = instance();
      await cache.set("k", "initial", { ttl: 60 });
      await Promise.all([cache.set("k", "first", { ttl: 60 }), cache.set("k", "second", { ttl: 60 })]);
      const two = await cache.get("k");
      check(two === "first" || two === "second" || two === undefined, `one of the two, got ${two}`);
      await cache.set("k", "after", { ttl: 60 });
      check((await cache.get("k")) === "after", "the set after them");
    },
  );

  withFaults("corrupt entries: a miss, deleted, counted; never thrown, never an outage", async (c) => {
    const { get, loads } = user();
    await get({ id: 1 });
    c.store.fault = { mode: "corrupt" };
    check((await get({ id: 1 })) === "v1", "the loader's value");
    check(loads() === 2, "loaded afresh");
    c.store.fault = { mode: "none" };
    check(getMetrics()["cache.error"] >= 1, "counted");
    check(getMetrics()["cache.breaker.open"] === 0, "the breaker is untouched");
    await get({ id: 1 });
    check(loads() === 2, "the rewritten entry hits");
  });

  withFaults("corrupt entries in getOrSetMany: a miss, deleted, counted, then stored again", async (c) => {
    const cache = instance();
    let loads = 0;
    const load = (keys: string[]) => keys.map((key) => `v${++loads}:${key}`);
    await cache.getOrSetMany(["a", "b"], load, { ttl: 60 });
    const entryKey = `${c.ns}:v1:e:a`;
    check((await c.inner.getMany([entryKey]))[0] !== null, "the entry is where this case expects it");
    await c.inner.setMany([{ key: entryKey, value: "garbage", ttlMs: 60_000 }]);
    const again = await cache.getOrSetMany(["a", "b"], load, { ttl: 60 });
    check(again.join() === "v3:a,v2:b", `the loader's value for the unreadable one only, got ${again}`);
    check(getMetrics()["cache.error"] >= 1, "counted");
    check(getMetrics()["cache.breaker.open"] === 0, "the breaker is untouched");
    const third = await cache.getOrSetMany(["a", "b"], load, { ttl: 60 });
    check(
      third.join() === "v3:a,v2:b" && loads === 3,
      `the rewritten entry hits, got ${third} after ${loads} loads`,
    );
  }, { deadlineMs: DEADLINE_MS * 4 }); // the delete must land within the call, also on workerd over HTTP under load

  withFaults(
    "a write over an unreadable entry stores: set, refresh and a forced read delete it first",
    async (c) => {
      const cache = instance();
      const read = cacheRead({ key: "k", ttl: 60 }, () => "refreshed");
      const writes: [string, () => Promise<unknown>, string][] = [
        ["set", () => cache.set("k", "set", { ttl: 60 }), "set"],
        ["a forced read", () => cache.getOrSet("k", () => "forced", { ttl: 60, force: true }), "forced"],
        ["refresh", () => read.refresh(), "refreshed"],
      ];
      const entryKey = `${c.ns}:v1:e:k`;
      for (const [how, write, value] of writes) {
        await c.inner.setMany([{ key: entryKey, value: `garbage ${how}`, ttlMs: 60_000 }]);
        await write();
        const stored = (await c.inner.getMany([entryKey]))[0];
        check(stored !== `garbage ${how}`, `${how}: the unreadable value is gone`);
        check((await cache.get("k")) === value, `${how}: stored, got ${await cache.get("k")}`);
      }
      check(getMetrics()["cache.error"] >= 3, "each counted");
    },
    { deadlineMs: DEADLINE_MS * 4 },
  ); // the delete must land within the call, also on workerd over HTTP under load

  withFaults("a backend refusing large values: the value is returned, the refusal counted", async (c) => {
    c.store.fault = { mode: "oversize-reject", maxBytes: 200 };
    const big = cacheRead({ key: "big", ttl: 60 }, () => "x".repeat(1000));
    check((await big()).length === 1000, "the value");
    check((await big()).length === 1000, "again");
    check(getMetrics()["cache.error"] >= 2, "counted");
  });

  withFaults("flaky backend (30 % of calls fail): every caller gets the right value", async (c) => {
    let seed = 42;
    c.store.fault = {
      mode: "flaky",
      probability: 0.3,
      random: () => ((seed = (seed * 16807) % 2147483647) / 2147483647),
    };
    const { db, get } = user();
    for (let i = 0; i < 200; i++) {
      if (i % 10 === 0) {
        db.set(1, `v${i}`);
        await invalidateTags("user:1");
      }
      const value = await get({ id: 1 });
      check(value === db.get(1), `read ${i} sees the current value ${db.get(1)}, not ${value}`);
      c.clock.advance(400); // past the breaker's cooldown now and then
    }
  });

  withFaults(
    "an invalidation while the backend is down: queued, honoured here, landed after recovery",
    async (c) => {
      const { db, get } = user();
      await get({ id: 1 });
      const [tagKey] = await c.inner.scan?.(`${c.ns}:v1:t:`) ?? [];
      const [before] = tagKey ? await c.inner.getMany([tagKey]) : [null];
      c.store.fault = { mode: "throw" };
      db.set(1, "v2");
      check(!(await invalidateTags("user:1")).delivered, "reported as queued");
      check(getMetrics()["cache.invalidate.pending"] === 1, "pending");
      c.store.fault = { mode: "none" };
      c.clock.advance(1000);
      check((await get({ id: 1 })) === "v2", "no entry of a pending tag is served");
      const until = Date.now() + 2000;
      while (getMetrics()["cache.invalidate.pending"] > 0 && Date.now() < until) await sleep(20);
      check(getMetrics()["cache.invalidate.pending"] === 0, "landed within 2 s of recovery");
      if (tagKey) {
        const [after] = await c.inner.getMany([tagKey]);
        check(before !== null && after !== before, "the old tag version is gone from the store itself");
      }
    },
  );

  withFaults(
    "clear() while the backend is down: queued, no older entry served meanwhile, landed after recovery",
    async (c) => {
      const { db, get, loads } = user();
      const cache = instance(), users = cache.namespace("users");
      await get({ id: 1 });
      await users.set("x", "old", { ttl: 60 });
      // Another process on the store itself: it sees the clear once it has landed.
      const other = await createCache({ store: c.inner, prefix: c.ns, clock: c.clock });
      try {
        check(await other.get("u:1") === "v1" && await other.namespace("users").get("x") === "old", "stored");
        c.store.fault = { mode: "throw" };
        db.set(1, "v2");
        const { delivered, landed } = await cache.clear();
        check(!delivered, "reported as queued");
        check(getMetrics()["cache.invalidate.pending"] === 1, "pending");
        check(await get({ id: 1 }) === "v2", "down: the loader's value");
        // Reads answer again, the delete does not land yet: the old generation is still in the store.
        c.store.fault = { mode: "delay", ms: DEADLINE_MS * 2, writesOnly: true };
        c.clock.advance(1000); // past the breaker's cooldown
        const generation = `${c.ns}:v1:g`;
        check((await c.inner.getMany([generation]))[0] !== null, "the old generation is still stored");
        const reads = c.store.calls;
        check(await get({ id: 1 }) === "v2", "no entry of the old generation is served");
        check(await users.get("x") === undefined, "nor in a namespace under it");
        check(await cache.get("u:1") === undefined, "nor by get");
        check(c.store.calls > reads, "the store was read");
        check(loads() === 3, `loaded each time (${loads()})`);
        c.store.fault = { mode: "none" };
        const until = Date.now() + 3000;
        while (getMetrics()["cache.invalidate.pending"] > 0 && Date.now() < until) await sleep(20);
        check(getMetrics()["cache.invalidate.pending"] === 0, "landed within 3 s of recovery");
        await landed;
        check(await other.get("u:1") === undefined, "another process misses once it landed");
        check(await other.namespace("users").get("x") === undefined, "in the namespace too");
      } finally {
        await other.close();
      }
    },
  );

  withFaults(
    "a load in flight across a clear() queued during an outage does not bring its value back",
    async (c) => {
      const { db, get, loads, open } = gatedUser();
      const slow = get({ id: 1 }); // claims under the current generation, then waits
      await waitFor(() => loads() === 1);
      c.store.fault = { mode: "throw" };
      db.set(1, "v2");
      const { delivered, landed } = await instance().clear();
      check(!delivered, "queued");
      c.store.fault = { mode: "none" };
      c.clock.advance(1000); // past the breaker's cooldown
      open();
      check(await slow === "v1", "the held caller gets its own load");
      check(await get({ id: 1 }) === "v2", "later callers do not get it");
      // Retries run on a timer that keeps no process alive: wait while polling.
      const until = Date.now() + 3000;
      while (getMetrics()["cache.invalidate.pending"] > 0 && Date.now() < until) await sleep(20);
      await landed;
      const other = await createCache({ store: c.inner, prefix: c.ns, clock: c.clock });
      try {
        check(await other.get("u:1") !== "v1", "nor does another process once the clear landed");
      } finally {
        await other.close();
      }
    },
  );

  withFaults(
    "a namespace's clear() during an outage: its entries and a load in flight across it are not served, its parent's and siblings' are",
    async (c) => {
      const cache = instance(), users = cache.namespace("users"), orders = cache.namespace("orders");
      await cache.set("p", "parent", { ttl: 60 });
      await users.set("x", "old", { ttl: 60 });
      await orders.set("o", "order", { ttl: 60 });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => release = resolve);
      let slowLoads = 0;
      const slow = users.getOrSet("slow", async () => (slowLoads++, await gate, "v1"), { ttl: 60 });
      await waitFor(() => slowLoads === 1); // claimed under the namespace's generation, then held
      const other = await createCache({ store: c.inner, prefix: c.ns, clock: c.clock });
      try {
        c.store.fault = { mode: "throw" };
        const { delivered, landed } = await users.clear();
        check(!delivered, "reported as queued");
        check(await users.get("x") === undefined, "down: nothing of the namespace served");
        // Reads answer again, the delete does not land yet: the namespace's old generation is still stored.
        c.store.fault = { mode: "delay", ms: DEADLINE_MS * 2, writesOnly: true };
        c.clock.advance(1000); // past the breaker's cooldown
        const generation = `${c.ns}:v1:n:users:g`;
        check(
          (await c.inner.getMany([generation]))[0] !== null,
          "the namespace's old generation is still stored",
        );
        const reads = c.store.calls;
        check(
          await users.get("x") === undefined,
          "the namespace's entry is not served while its clear is pending",
        );
        check(await cache.get("p") === "parent", "the parent's entry is");
        check(await orders.get("o") === "order", "and a sibling's");
        check(c.store.calls > reads, "the store was read");
        release();
        check(await slow === "v1", "the held caller gets its own load");
        check(await users.getOrSet("slow", () => "v2", { ttl: 60 }) === "v2", "later callers do not get it");
        c.store.fault = { mode: "none" };
        const until = Date.now() + 3000;
        while (getMetrics()["cache.invalidate.pending"] > 0 && Date.now() < until) await sleep(20);
        check(getMetrics()["cache.invalidate.pending"] === 0, "landed within 3 s of recovery");
        await landed;
        const otherUsers = other.namespace("users");
        check(
          await otherUsers.get("x") === undefined,
          "another process misses in the namespace once it landed",
        );
        check(await otherUsers.get("slow") !== "v1", "nor gets the load that was in flight");
        check(await other.get("p") === "parent", "and still hits the parent's entry");
        check(await other.namespace("orders").get("o") === "order", "and the sibling's");
      } finally {
        await other.close();
      }
    },
  );

  withFaults(
    "a queued invalidation landing while a read is out: the read's old entry is not served",
    async (c) => {
      const { db, get, loads } = user();
      await get({ id: 1 });
      c.store.fault = { mode: "throw" };
      db.set(1, "v2");
      check(!(await invalidateTags("user:1")).delivered, "queued");
      // The read sees the old entry and version; the retried delete (due within retryMaxMs, 100 ms) lands
      // before its reply arrives, well within the reply's delay even where each call crosses HTTP.
      c.store.fault = { mode: "slow-replies", ms: DEADLINE_MS * 1.6 };
      const value = await get({ id: 1 });
      check(value === "v2", `the new value, not ${value}`);
      check(loads() === 2, "loaded afresh");
      check(getMetrics()["cache.invalidate.pending"] === 0, "the delete landed during the read");
    },
    { deadlineMs: DEADLINE_MS * 4 }, // room for the read's slow reply
  );

  withFaults(
    "an invalidation made here applies at once, also to L1 and against reads made while it is in flight",
    async (c) => {
      const { db, get } = user();
      const cache = instance();
      // Slow writes: a read made meanwhile finds the old entry and versions, and must not serve them. Slow
      // replies: a read made meanwhile is answered after the acknowledgment, and L1 must not keep what it got.
      const faults = [
        { mode: "delay", ms: DEADLINE_MS / 2, writesOnly: true },
        { mode: "slow-replies", ms: DEADLINE_MS / 2 },
      ] as const;
      for (const fault of faults) {
        for (const kind of ["soft", "hard", "entry"] as const) {
          const what = `${kind}, ${fault.mode}`;
          c.store.fault = { mode: "none" };
          const hits = getMetrics()["cache.l1.hit"] ?? 0;
          for (let i = 0; i < 3; i++) await get({ id: 1 });
          check((getMetrics()["cache.l1.hit"] ?? 0) > hits, `${what}: L1 holds the entry`);
          db.set(1, `${what}: new`);
          c.store.fault = fault;
          const invalidated = kind === "entry"
            ? get.invalidate({ id: 1 })
            : cache.invalidateTags(["user:1"], { soft: kind === "soft" });
          await sleep(DEADLINE_MS / 5);
          c.clock.advance(10);
          const during = get({ id: 1 });
          check((await invalidated).delivered, `${what}: delivered`);
          const early = await during;
          if (fault.mode === "delay") {
            check(early === `${what}: new`, `${what}: a read made meanwhile got ${early}`);
          }
          c.store.fault = { mode: "none" };
          const after = await get({ id: 1 });
          check(after === `${what}: new`, `${what}: a read after the acknowledgment got ${after}`);
          c.clock.advance(10);
        }
      }
    },
    // A deadline well past the faults' delays: a soft invalidation's read and delayed write must be delivered
    // even through a store a loaded machine answers slowly (a Durable Object in workerd, over HTTP).
    { l1: twoLevel({ maxStaleMs: 60_000 }), deadlineMs: DEADLINE_MS * 4 },
  );

  withFaults(
    "a tag added by ctx.addTags whose invalidation is queued here makes the entry a miss",
    async (c) => {
      const db = new Map<number, string>([[1, "v1"]]);
      let loads = 0;
      const get = cacheRead({ key: "o:{id}", ttl: 60 }, ({ id }: { id: number }, ctx) => {
        loads++;
        ctx.addTags(`org:${id}`);
        return db.get(id);
      });
      await get({ id: 1 });
      await get({ id: 1 }); // the second load read the added tag's version first: its entry is served
      const hits = getMetrics()["cache.hit"];
      check((await get({ id: 1 })) === "v1" && getMetrics()["cache.hit"] === hits + 1, "served");
      db.set(1, "v2");
      // Reads answer; the delete of the tag's version gets no answer in time and is queued.
      c.store.fault = { mode: "late", ms: DEADLINE_MS * 2, writesOnly: true };
      check(!(await invalidateTags("org:1")).delivered, "the invalidation is queued");
      const value = await get({ id: 1 });
      check(value === "v2", `a miss while the invalidation is queued, not ${value}`);
      check((await instance().get("o:1")) === undefined, "get misses it too");
      check(loads === 3, `loaded again (${loads})`);
      c.store.fault = { mode: "none" };
    },
  );

  withFaults("getMany gives what get gives: a queued delete and an invalidated tag are misses", async (c) => {
    const cache = instance();
    await cache.set("k", "v1", { ttl: 60 });
    await cache.set("t", "v1", { ttl: 60, tags: ["x"] });
    const before = await cache.getMany(["k", "t", "none"]);
    check(before.join() === "v1,v1,", `both read before, got ${before}`);
    await cache.invalidateTags(["x"]);
    check((await cache.get("t")) === undefined, "get misses the invalidated tag's entry");
    check((await cache.getMany(["t"]))[0] === undefined, "getMany misses it too");
    // Reads answer; the delete gets no answer in time and is queued.
    c.store.fault = { mode: "late", ms: DEADLINE_MS * 2, writesOnly: true };
    check(!(await cache.delete("k")).delivered, "the delete is queued");
    check((await cache.get("k")) === undefined, "get misses the entry whose delete is queued");
    const [value] = await cache.getMany(["k"]);
    check(value === undefined, `getMany misses it too, not ${value}`);
    c.store.fault = { mode: "none" };
  });

  withFaults(
    "one deadline per call on a hanging store: L1 reads due for validation, get, getOrSetMany, soft invalidation",
    async (c) => {
      const deadline = DEADLINE_MS * 2;
      const { get } = user();
      const cache = instance();
      const many = () =>
        cache.getOrSetMany(["m"], (keys) => keys.map(() => "m"), { ttl: 60, tags: () => ["user:1"] });
      check((await get({ id: 1 })) === "v1" && (await many())[0] === "m", "loaded");
      await cache.set("s", "v", { ttl: 60, tags: ["user:1"] });
      const calls: [string, () => Promise<unknown>][] = [
        ["cacheRead", () => get({ id: 1 })],
        ["get", () => cache.get("s")],
        ["getOrSetMany", many],
        ["soft invalidation", () => cache.invalidateTags(["user:1"], { soft: true })],
      ];
      const slow: string[] = [];
      for (const [what, call] of calls) {
        c.store.fault = { mode: "none" };
        c.clock.advance(5_000); // past L1's bound: each held entry is due for validation
        c.store.fault = { mode: "hang" };
        const calls = c.store.calls;
        const t0 = performance.now();
        await call();
        const ms = performance.now() - t0;
        check(c.store.calls > calls, `${what}: the store was asked`);
        if (ms >= deadline * 1.5) slow.push(`${what}: ${ms.toFixed(0)} ms`);
      }
      check(slow.length === 0, `more than one ${deadline} ms deadline: ${slow.join(", ")}`);
    },
    { l1: twoLevel({ maxStaleMs: 1000 }), deadlineMs: DEADLINE_MS * 2, breakerThreshold: 1000 },
  );

  withFaults(
    "clock skew between writer and reader: invalidation stays exact, expiry reads as a miss",
    async (c) => {
      const { db, get, loads } = user();
      c.clock.advance(5 * 60_000); // a writer five minutes ahead
      await get({ id: 1 });
      c.clock.advance(-5 * 60_000); // the reader on time
      db.set(1, "v2");
      await invalidateTags("user:1");
      check((await get({ id: 1 })) === "v2", "invalidation compares no clocks");
      db.set(1, "v3");
      await invalidateTags("user:1");
      c.clock.advance(-2 * 60_000); // a writer two minutes behind (more than the 60 s ttl)
      check((await get({ id: 1 })) === "v3", "written by the late writer");
      c.clock.advance(2 * 60_000);
      const n = loads();
      check((await get({ id: 1 })) === "v3", "the reader's value");
      check(loads() === n + 1, "the late writer's entry reads as expired: a miss, never stale");
    },
  );

  withFaults("ttl edge cases: 0 does not cache; negative and NaN are RangeErrors", async () => {
    let loads = 0;
    const zero = cacheRead({ key: "z", ttl: 0 }, () => ++loads);
    await zero();
    await zero();
    check(loads === 2, "ttl 0 calls every time");
    for (const ttl of [-1, NaN]) {
      let threw = false;
      try {
        cacheRead({ key: "bad", ttl }, () => 1);
      } catch (error) {
        threw = error instanceof RangeError;
      }
      check(threw, `ttl ${ttl} is a RangeError`);
    }
  });
}

function defaultRegistrar(): TestRegistrar {
  const deno = (globalThis as { Deno?: { test(d: object): void } }).Deno;
  if (!deno) throw new TypeError("Cannot register fault tests: pass a test function outside Deno");
  return (name, fn) => deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}
