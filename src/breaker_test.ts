import assert from "node:assert/strict";
import { CircuitBreaker } from "./breaker.ts";
import { cacheRead, closeCache, getMetrics, initCache, invalidateTags } from "../mod.ts";
import { faultStore } from "./testing/fault_store.ts";
import { memoryStore } from "./memory_store.ts";
import { freshCache, ManualClock } from "../tests/_helpers.ts";

Deno.test("breaker: opens after the threshold, probes once after the cooldown, closes on success", () => {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker(3, 1000, clock);
  for (let i = 0; i < 2; i++) breaker.failed();
  assert.ok(breaker.allows() && !breaker.open);
  breaker.failed();
  assert.ok(breaker.open && !breaker.allows());
  clock.advance(1000);
  assert.ok(breaker.allows(), "one probe after the cooldown");
  assert.ok(!breaker.allows(), "only one at a time");
  breaker.failed();
  assert.ok(!breaker.allows(), "a failed probe reopens it");
  clock.advance(1000);
  assert.ok(breaker.allows());
  breaker.succeeded();
  assert.ok(!breaker.open && breaker.allows() && breaker.allows());
});

Deno.test("breaker: a cache skips a failing store, then uses it again once it answers", async () => {
  const store = faultStore(memoryStore());
  const { clock, logger } = await freshCache({ store, breakerThreshold: 3, breakerCooldownMs: 500 });
  let loads = 0;
  const get = cacheRead({ key: "b", ttl: 60 }, () => ++loads);
  store.fault = { mode: "throw" };
  for (let i = 0; i < 10; i++) assert.equal(await get(), i + 1);
  // 3 failed reads open the breaker (the failed writes and tag reads count too); then calls skip the store.
  assert.ok(store.calls <= 4, `store calls while down: ${store.calls}`);
  assert.equal(getMetrics()["cache.breaker.open"], 1);
  assert.equal(logger.at("warn").length, 1, "one log line for the outage");
  store.fault = { mode: "none" };
  assert.equal(await get(), 11, "still skipped during the cooldown");
  clock.advance(500);
  assert.equal(await get(), 12, "the probe read misses and stores");
  assert.equal(await get(), 12, "then hits");
});

Deno.test("pending invalidations survive initCache and are drained by closeCache", async () => {
  const inner = memoryStore();
  const store = faultStore(inner);
  await freshCache({ store, retryMaxMs: 60_000 }); // no retry lands before closeCache in this test
  let loads = 0;
  const get = cacheRead({ key: "p", tags: ["t"], ttl: 60 }, () => ++loads);
  await get();
  const tagKey = "test:v1:t:t";
  const [before] = await inner.getMany([tagKey]);
  store.fault = { mode: "throw" };
  await invalidateTags("t");
  assert.equal(getMetrics()["cache.invalidate.pending"], 1);
  // Reconfigured (the queue is kept) on a store whose close keeps the data, so the test can look afterwards.
  await initCache({
    store: { ...inner, close: () => Promise.resolve() },
    prefix: "test",
    version: "v1",
    retryMaxMs: 60_000,
  });
  assert.equal(getMetrics()["cache.invalidate.pending"], 1);
  assert.equal(await get(), 2, "this process still honours the pending invalidation");
  await closeCache();
  assert.equal(getMetrics()["cache.invalidate.pending"], 0, "drained by closeCache");
  const [after] = await inner.getMany([tagKey]);
  assert.ok(after !== null && after !== before, "the new tag version reached the store");
});

Deno.test("a per-entry invalidate while the store is down resolves, is honoured here, and lands later", async () => {
  const inner = memoryStore();
  const store = faultStore(inner);
  await freshCache({ store, retryMaxMs: 60_000 });
  let loads = 0;
  const get = cacheRead({ key: "one:{id}", ttl: 60 }, ({ id }: { id: number }) => `${id}-${++loads}`);
  await get({ id: 1 });
  store.fault = { mode: "throw" };
  await get.invalidate({ id: 1 }); // resolves: queued
  assert.equal(getMetrics()["cache.invalidate.pending"], 1);
  store.fault = { mode: "none" };
  assert.equal(await get({ id: 1 }), "1-2", "not served while its invalidation is pending");
  await initCache({ store: { ...inner, close: () => Promise.resolve() }, prefix: "test", version: "v1" });
  await closeCache();
  assert.equal(getMetrics()["cache.invalidate.pending"], 0);
});
