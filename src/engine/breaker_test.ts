import assert from "node:assert/strict";
import { CircuitBreaker } from "./breaker.ts";
import { cacheRead, getMetrics } from "../../mod.ts";
import { faultStore } from "../testing/fault_store.ts";
import { memoryStore } from "../store/memory_store.ts";
import { freshCache, ManualClock } from "../../tests/_helpers.ts";

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
