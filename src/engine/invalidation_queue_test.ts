import assert from "node:assert/strict";
import {
  cacheRead,
  closeCache,
  createCache,
  getMetrics,
  initCache,
  instance,
  invalidateTags,
} from "../../mod.ts";
import { faultStore } from "../testing/fault_store.ts";
import { memoryStore } from "../store/memory_store.ts";
import type { CacheStore } from "../store/store.ts";
import { type Deliver, InvalidationQueue, type InvalidationQueueOptions } from "./invalidation_queue.ts";
import { Budget } from "./deadline.ts";
import { freshCache, RecordingLogger } from "../../tests/_helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A store that keeps its data when the cache closes it, so a test can look afterwards. */
function keeping(inner: CacheStore): CacheStore {
  return { ...inner, close: () => Promise.resolve() };
}

async function until(condition: () => boolean, ms: number): Promise<number> {
  const start = performance.now();
  while (!condition() && performance.now() - start < ms) await sleep(5);
  return performance.now() - start;
}

/** A queue delivering through `deliver`, with test settings (`options` replace them). */
function queueOf(deliver: Deliver, options: Partial<InvalidationQueueOptions> = {}): InvalidationQueue {
  return new InvalidationQueue(deliver, {
    maxKeys: 100,
    generationKey: "g",
    retryMaxMs: 60_000,
    stalledMs: 60_000,
    onSize: () => {},
    onEscalate: () => {},
    ...options,
  });
}

Deno.test("queue: a per-entry invalidate while the store is down is honoured here and lands after recovery", async () => {
  const inner = memoryStore();
  const store = faultStore(inner);
  await freshCache({ store: keeping(store), retryMaxMs: 60_000 });
  let loads = 0;
  const get = cacheRead({ key: "one:{id}", ttl: 60 }, ({ id }: { id: number }) => `${id}-${++loads}`);
  await get({ id: 1 });
  store.fault = { mode: "throw" };
  const result = await get.invalidate({ id: 1 });
  assert.equal(result.delivered, false, "reported as queued, not as delivered");
  assert.equal(getMetrics()["cache.invalidate.pending"], 1);
  store.fault = { mode: "none" };
  assert.equal(await get({ id: 1 }), "1-2", "not served while its invalidation is pending");
  assert.deepEqual(await closeCache(), { keys: [], namespace: false }, "delivered by closeCache");
  assert.equal(getMetrics()["cache.invalidate.pending"], 0);
});

Deno.test("queue: invalidations belong to their store; initCache and closeCache report what did not land", async () => {
  const inner = memoryStore();
  const store = faultStore(inner);
  const { logger } = await freshCache({ store: keeping(store), retryMaxMs: 60_000 });
  const get = cacheRead({ key: "p", tags: ["t"], ttl: 60 }, () => 1);
  await get();
  store.fault = { mode: "throw" };
  assert.equal((await invalidateTags("t")).delivered, false);
  // Reconfiguring onto another store drains this queue towards its own store and reports the rest there.
  await initCache({ prefix: "test", version: "v1", logger });
  assert.equal(getMetrics()["cache.invalidate.pending"], 0, "the new cache has nothing queued");
  const warnings = logger.at("warn").filter((m) => m.includes("not delivered"));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /1 invalidation \(test:v1:t:t\) not delivered to the fault\(memory\) store/);
  assert.ok(!logger.at("info").some((m) => m.includes("stored")), "no claim of success");

  await initCache({ store: keeping(store), prefix: "test", version: "v1", logger, retryMaxMs: 60_000 });
  await invalidateTags("u");
  const left = await closeCache();
  assert.deepEqual(
    left,
    { keys: ["test:v1:t:u"], namespace: false },
    "closeCache says what it could not deliver",
  );
  assert.equal(
    logger.at("warn").filter((m) => m.includes("not delivered")).length,
    2,
    "one warning per close",
  );
});

Deno.test("queue: a tag invalidated many times is one queued delete; retries land within 500 ms of recovery", async () => {
  const inner = memoryStore();
  const store = faultStore(inner);
  await freshCache({ store: keeping(store) });
  const get = cacheRead({ key: "c", tags: ["hot"], ttl: 60 }, () => 1);
  await get();
  const tagKey = "test:v1:t:hot";
  assert.notEqual((await inner.getMany([tagKey]))[0], null);
  store.fault = { mode: "throw" };
  for (let i = 0; i < 1000; i++) await invalidateTags("hot");
  assert.equal(getMetrics()["cache.invalidate.pending"], 1, "coalesced");
  await sleep(400); // several failed retries, so the back-off is at its longest
  store.fault = { mode: "none" };
  const ms = await until(() => getMetrics()["cache.invalidate.pending"] === 0, 2000);
  assert.equal(getMetrics()["cache.invalidate.pending"], 0);
  assert.ok(ms < 500, `landed ${ms.toFixed(0)} ms after the store answered again`);
  assert.equal((await inner.getMany([tagKey]))[0], null, "the version is gone from the store itself");
  await closeCache();
});

Deno.test("queue: 300,000 queued invalidations stay bounded, escalate to the namespace, drain in one request", async () => {
  const inner = memoryStore({ maxEntries: 1000 });
  const store = faultStore(inner);
  const { logger } = await freshCache({ store: keeping(store) });
  const get = cacheRead({ key: "e:{id}", ttl: 600 }, ({ id }: { id: number }) => id);
  for (let id = 0; id < 20; id++) await get({ id });
  const generationKey = "test:v1:g";
  assert.notEqual((await inner.getMany([generationKey]))[0], null, "entries depend on the generation");
  store.fault = { mode: "throw" };
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, "run with --v8-flags=--expose-gc (npm test does) to measure retained memory");
  gc();
  const heapBefore = Deno.memoryUsage().heapUsed;
  for (let start = 0; start < 300_000; start += 10_000) {
    await Promise.all(Array.from({ length: 10_000 }, (_, i) => get.invalidate({ id: start + i })));
  }
  gc();
  const grown = Deno.memoryUsage().heapUsed - heapBefore;
  assert.equal(getMetrics()["cache.invalidate.pending"], 1, "escalated: one namespace-wide invalidation");
  assert.equal(getMetrics()["cache.invalidate.escalated"], 1);
  assert.ok(grown < 8 << 20, `heap grew ${(grown / 2 ** 20).toFixed(1)} MiB`);
  assert.equal(logger.at("warn").filter((m) => m.includes("whole namespace")).length, 1, "said once");
  const callsBefore = store.calls;
  store.fault = { mode: "none" };
  const ms = await until(() => getMetrics()["cache.invalidate.pending"] === 0, 5000);
  assert.equal(getMetrics()["cache.invalidate.pending"], 0, `drained (${ms.toFixed(0)} ms)`);
  assert.ok(
    store.calls - callsBefore <= 3,
    `retried in ${store.calls - callsBefore} calls, not 300,000 keys`,
  );
  assert.equal((await inner.getMany([generationKey]))[0], null, "the generation key was deleted");
  let loads = 0;
  const again = cacheRead({ key: "e:{id}", ttl: 600 }, ({ id }: { id: number }) => (loads++, id));
  for (let id = 0; id < 20; id++) await again({ id });
  assert.equal(loads, 20, "every entry stored before the escalation is a miss");
  await closeCache();
});

Deno.test("queue: a backlog larger than one request drains in chunks", async () => {
  const inner = memoryStore();
  const store = faultStore(inner);
  const sizes: number[] = [];
  const counting: CacheStore = {
    ...keeping(store),
    deleteMany: (keys, o) => (sizes.push(keys.length), store.deleteMany(keys, o)),
  };
  await freshCache({ store: counting });
  const get = cacheRead({ key: "k:{id}", ttl: 60 }, ({ id }: { id: number }) => id);
  store.fault = { mode: "throw" };
  await Promise.all(Array.from({ length: 2000 }, (_, id) => get.invalidate({ id })));
  assert.equal(getMetrics()["cache.invalidate.pending"], 2000);
  sizes.length = 0;
  store.fault = { mode: "none" };
  await until(() => getMetrics()["cache.invalidate.pending"] === 0, 3000);
  assert.equal(getMetrics()["cache.invalidate.pending"], 0);
  assert.ok(sizes.length >= 4 && sizes.every((n) => n <= 500), `chunks ${sizes.join(",")}`);
  await closeCache();
});

Deno.test("queue: get and getOrSetMany do not serve an entry whose queued delete lands while they read it", async () => {
  const store = faultStore(memoryStore());
  await freshCache({ store: keeping(store), retryMaxMs: 60_000 });
  const cache = instance();
  for (const read of ["get", "getOrSetMany"] as const) {
    await cache.set("k", "old");
    store.fault = { mode: "throw" };
    assert.equal((await cache.delete("k")).delivered, false, "queued");
    // The read finds the old entry; the retried delete lands (at 25 ms) before the read's reply arrives.
    store.fault = { mode: "slow-replies", ms: 80 };
    const value = read === "get"
      ? await cache.get("k")
      : (await cache.getOrSetMany(["k"], () => ["new"], { ttl: 60 }))[0];
    assert.equal(value, read === "get" ? undefined : "new", `${read}: not the old entry`);
    assert.equal(getMetrics()["cache.invalidate.pending"], 0, `${read}: the delete landed during the read`);
    store.fault = { mode: "none" };
  }
  await closeCache();
});

Deno.test("queue: a caller waiting on another process's lock is not handed an entry whose invalidation is queued", async () => {
  const inner = memoryStore();
  const store = faultStore(inner);
  let deletesFail = false;
  const failingDeletes: CacheStore = {
    ...keeping(store),
    deleteMany: (keys, o) =>
      deletesFail ? Promise.reject(new Error("ECONNRESET: deletes fail")) : store.deleteMany(keys, o),
  };
  await freshCache({ store: failingDeletes, retryMaxMs: 60_000, breakerThreshold: 1000 });
  const db = new Map([[1, "v1"]]);
  const get = cacheRead(
    { key: "u:{id}", tags: ["user:{id}"], ttl: 60, lock: { pollMs: 5, ttlMs: 200 } },
    ({ id }: { id: number }) => db.get(id),
  );
  assert.equal(await get({ id: 1 }), "v1");
  deletesFail = true;
  db.set(1, "v2");
  assert.equal((await invalidateTags("user:1")).delivered, false, "queued");
  // Another process holds the key's lock: this one polls the store, which still holds the old entry.
  await inner.setMany([{ key: "test:v1:l:u:1", value: "another process", ttlMs: 200 }]);
  assert.equal(await get({ id: 1 }), "v2", "the invalidation queued here is honoured while waiting");
  deletesFail = false;
  await closeCache();
});

Deno.test("queue: an invalidation that finds the queue escalated waits for the namespace delete within its deadline", async () => {
  let tries = 0;
  // A store that never answers: each delivery fails at the cache's deadline (400 ms).
  const deliver =
    () => (tries++, new Promise<void>((_, reject) => setTimeout(() => reject(new Error("no answer")), 400)));
  const queue = queueOf(deliver, { maxKeys: 1 });
  try {
    const started = performance.now();
    const budget = new Budget(400);
    budget.spend(300); // what the call's earlier requests took
    assert.equal(await queue.invalidate(["a", "b"], budget), false, "queued");
    const took = performance.now() - started;
    assert.ok(took < 300, `returned after ${took.toFixed(0)} ms, with 100 ms of its deadline left`);
    assert.equal(tries, 1, "the namespace delete was tried");
  } finally {
    queue.stop();
  }
});

Deno.test("queue: reconfiguring delivers a queued invalidation to its own store, within the deadline, silently", async () => {
  const inner = memoryStore();
  const store = faultStore(inner);
  // A retry a minute away: only the reconfiguration can be what delivers it.
  const { logger } = await freshCache({ store: keeping(store), retryMaxMs: 60_000, deadlineMs: 500 });
  const get = cacheRead({ key: "p", tags: ["t"], ttl: 60 }, () => 1);
  await get();
  const version = "test:v1:t:t";
  assert.notEqual((await inner.getMany([version]))[0], null, "the tag's version is stored");
  store.fault = { mode: "throw" };
  assert.equal((await invalidateTags("t")).delivered, false, "queued");
  store.fault = { mode: "none" }; // the store is back; no retry is due for a minute
  const started = performance.now();
  await initCache({ prefix: "test", version: "v1", logger });
  const ms = performance.now() - started;
  assert.equal(
    (await inner.getMany([version]))[0],
    null,
    "delivered to the old store by the reconfiguration",
  );
  assert.ok(ms < 500, `within the deadline: ${ms.toFixed(0)} ms`);
  assert.deepEqual(logger.at("warn").filter((m) => m.includes("not delivered")), [], "no warning");
  await closeCache();
});

Deno.test("queue: with retry timers that never fire (Workers after the response), the next call carries the retry", async () => {
  const inner = memoryStore();
  const store = faultStore(keeping(inner));
  const realSetTimeout = globalThis.setTimeout;
  const dead: ReturnType<typeof setTimeout>[] = [];
  try {
    await initCache({
      store,
      prefix: "dead",
      deadlineMs: 200,
      retryMaxMs: 50,
      logger: new RecordingLogger(),
    });
    const other = await createCache({ store: keeping(inner), prefix: "dead" }); // another process
    const cache = instance();
    await cache.set("k", "v1", { ttl: 60, tags: ["t"] });
    store.fault = { mode: "throw" };
    // From here timers never fire, as a request's timers on Workers once it answered.
    globalThis.setTimeout = (() => {
      const id = realSetTimeout(() => {}, 2 ** 31 - 1);
      dead.push(id);
      return id;
    }) as unknown as typeof setTimeout;
    const { delivered, landed } = await cache.invalidateTags(["t"]);
    assert.equal(delivered, false);
    store.fault = { mode: "none" };
    let done = false;
    landed.then(() => done = true);
    await new Promise((r) => realSetTimeout(r, 150)); // past the retry's due time
    assert.equal(done, false, "no timer fired: not landed by itself");
    assert.equal(await other.get("k"), "v1", "another process still reads the old value");
    const reads = store.calls;
    assert.equal(await cache.get("other"), undefined); // any call of the cache
    await Promise.race([
      landed,
      new Promise((_, reject) => realSetTimeout(() => reject(new Error("not landed")), 1000)),
    ]);
    assert.ok(store.calls >= reads + 2, "the read and the retry's delete reached the store");
    assert.equal(await other.get("k"), undefined, "landed: another process misses too");
  } finally {
    globalThis.setTimeout = realSetTimeout;
    dead.forEach((id) => clearTimeout(id));
    await closeCache();
  }
});

Deno.test("queue: a read is pending only for landings of its own keys, however many others land meanwhile", async () => {
  const queue = queueOf(() => Promise.resolve(), { maxKeys: 100_000, retryMaxMs: 100 });
  const mark = queue.landings; // a read is issued
  for (let i = 0; i < 1000; i++) await queue.making([`other:${i}`], () => queue.invalidate([`other:${i}`]));
  assert.equal(queue.landedSince(["mine", "g"], mark), false, "1,000 other keys landed: still a hit");
  assert.equal(queue.landedSince(["other:7"], mark), true);
  await queue.making(["mine"], () => queue.invalidate(["mine"]));
  assert.equal(queue.landedSince(["mine", "g"], mark), true, "its own key landed");
  const later = queue.landings;
  // Past what is remembered, a read that began before a forgotten landing counts every key as landed.
  for (let i = 0; i < 5000; i++) await queue.making([`more:${i}`], () => queue.invalidate([`more:${i}`]));
  assert.equal(queue.landedSince(["unrelated"], later), true, "conservative once forgotten");
  const now = queue.landings;
  assert.equal(queue.landedSince(["unrelated"], now), false);
  queue.stop();
});

Deno.test("queue: a drain whose delivery never settles (Workers ended the request that carried it) is replaced by the next call's once stalled", async () => {
  const attempts: string[][] = [];
  let answer: "fail" | "never" | "ok" = "fail";
  const queue = queueOf((keys) => {
    attempts.push([...keys]);
    if (answer === "fail") return Promise.reject(new Error("down"));
    if (answer === "never") return new Promise<void>(() => {}); // its continuation was dropped
    return Promise.resolve();
  }, { retryMaxMs: 20, stalledMs: 100 });
  try {
    assert.equal(await queue.invalidate(["a"]), false, "queued");
    answer = "never";
    await new Promise((r) => setTimeout(r, 60)); // the timed retry starts a drain that never settles
    assert.equal(attempts.length, 2, "the retry went out");
    assert.equal(queue.retryIfOverdue(), undefined, "a drain in flight is not doubled");
    answer = "ok";
    await new Promise((r) => setTimeout(r, 120)); // no progress past stalledMs
    assert.equal(queue.size, 1, "still queued: the stalled drain never settles");
    const retry = queue.retryIfOverdue();
    assert.ok(retry, "the next call replaces the stalled drain");
    assert.equal(await retry, true);
    assert.equal(queue.size, 0, "landed");
    assert.deepEqual(attempts.at(-1), ["a"]);
    await queue.landed();
  } finally {
    queue.stop();
  }
});

Deno.test("queue: a key invalidated while the namespace-wide delete is on its way is covered by another one, not dropped", async () => {
  const delivered: string[][] = [];
  let failing = true;
  let release!: () => void;
  const held = new Promise<void>((r) => release = r);
  const queue = queueOf(async (keys) => {
    if (failing) throw new Error("down");
    delivered.push([...keys]);
    if (keys[0] === "g") await held;
  }, { maxKeys: 1 });
  try {
    await queue.invalidate(["a"]);
    await queue.invalidate(["b"]); // past maxKeys: escalated to the namespace
    failing = false;
    const draining = queue.drain();
    await new Promise((r) => setTimeout(r, 10)); // the generation delete is out
    const later = queue.invalidate(["c"]);
    release();
    assert.equal(await later, true);
    assert.equal(await draining, true);
    assert.deepEqual(delivered, [["g"], ["g"]], "another namespace-wide delete, made after c, covers it");
    assert.equal(queue.size, 0);
  } finally {
    queue.stop();
  }
});

Deno.test("queue: an invalidation whose first delivery never settles (its request ended on Workers) is retried by a call once stalled", async () => {
  const delivered: string[][] = [];
  let calls = 0;
  const queue = queueOf((keys) => {
    if (++calls === 1) return new Promise<void>(() => {}); // its continuation was dropped
    delivered.push([...keys]);
    return Promise.resolve();
  }, { retryMaxMs: 50, stalledMs: 40 });
  try {
    void queue.invalidate(["t:a"]);
    assert.equal(queue.retryIfOverdue(), undefined, "not before it stalled");
    await new Promise((r) => setTimeout(r, 60));
    const retry = queue.retryIfOverdue();
    assert.ok(retry, "a call retries it");
    assert.equal(await retry, true);
    assert.deepEqual(delivered, [["t:a"]]);
    assert.equal(queue.size, 0);
  } finally {
    queue.stop();
  }
});
