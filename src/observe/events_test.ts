import assert from "node:assert/strict";
import { cacheRead, createCache, initCache, instance, invalidateTags } from "../../mod.ts";
import type { CacheEvent } from "../../mod.ts";
import { memoryStore } from "../store/memory_store.ts";
import { faultStore } from "../testing/fault_store.ts";
import { freshCache, RecordingLogger, settle } from "../../tests/_helpers.ts";

/** Records every event of a cache, all types. */
function record(on: (type: CacheEvent["type"], fn: (e: CacheEvent) => void) => () => void) {
  const events: CacheEvent[] = [];
  const stops = (["hit", "miss", "stale", "load", "error", "invalidate", "backend"] as const)
    .map((type) => on(type, (e) => void events.push(e)));
  return {
    events,
    stop: () => stops.forEach((stop) => stop()),
    of: (t: string) => events.filter((e) => e.type === t),
  };
}

Deno.test("events: hit, miss, load and invalidate carry the key, the function, the tier and durations", async () => {
  const cache = await createCache();
  const seen = record((type, fn) => cache.on(type, fn));
  const user = cache.cacheRead(
    { key: "user:{id}", tags: ["user:{id}"], ttl: 60, name: "getUser" },
    ({ id }: { id: number }) => ({ id }),
  );
  await user({ id: 1 });
  await user({ id: 1 });
  await cache.get("nothing");
  await cache.invalidateTags(["user:1"]);
  await user.invalidate({ id: 1 });
  assert.deepEqual(seen.events.map((e) => e.type), [
    "miss",
    "load",
    "hit",
    "miss",
    "invalidate",
    "invalidate",
  ]);
  const [miss, load, hit, getMiss, byTag, byKey] = seen.events;
  assert.deepEqual([miss.key, miss.function, load.key, load.function], [
    "user:1",
    "getUser",
    "user:1",
    "getUser",
  ]);
  assert.deepEqual([hit.key, hit.tier, getMiss.key, getMiss.function], ["user:1", "l2", "nothing", "get"]);
  for (const e of [miss, load, hit]) {
    assert.ok(e.durationMs! >= 0 && e.durationMs! < 1000, `${e.type} took ${e.durationMs} ms`);
  }
  assert.deepEqual(byTag.tags, ["user:1"]);
  assert.deepEqual(byKey.keys, ["user:1"]);
  seen.stop();
  await user({ id: 2 });
  assert.equal(seen.events.length, 6, "removed listeners hear nothing");
  await cache.close();
});

Deno.test("events: stale hits, batch reads and loader failures", async () => {
  const { clock } = await freshCache();
  const seen = record((type, fn) => instance().on(type, fn));
  const price = cacheRead({ key: "price:{id}", ttl: 10, staleTtl: 60 }, ({ id }: { id: number }) => id * 2);
  await price({ id: 1 });
  clock.advance(11_000);
  await price({ id: 1 });
  assert.equal(seen.of("stale").length, 1);
  assert.equal(seen.of("stale")[0].key, "price:1");
  await instance().getOrSetMany(["a", "b"], (missing) => missing.map((k) => k.toUpperCase()));
  await instance().getOrSetMany(["a", "c"], (missing) => missing.map((k) => k.toUpperCase()));
  const batchLoads = seen.of("load").filter((e) => e.function === "getOrSetMany");
  assert.deepEqual(batchLoads.map((e) => e.keys), [["a", "b"], ["c"]]);
  assert.ok(seen.of("hit").some((e) => e.key === "a" && e.tier === "l2"));
  const failing = cacheRead({ key: "fails", ttl: 10 }, () => Promise.reject(new Error("db down")));
  await assert.rejects(failing(), /db down/);
  const errors = seen.of("error");
  assert.equal(errors.length, 1);
  assert.equal((errors[0].error as Error).message, "db down");
  assert.equal(seen.of("load").at(-1)!.error, errors[0].error, "the failed load's event carries its error");
  seen.stop();
});

Deno.test("events: store calls and store errors, with the operation", async () => {
  const store = faultStore(memoryStore());
  const cache = await createCache({ store, deadlineMs: 50, logger: new RecordingLogger() });
  const seen = record((type, fn) => cache.on(type, fn));
  await cache.getOrSet("k", () => 1, { ttl: 60 });
  const ops = new Set(seen.of("backend").map((e) => e.operation));
  assert.ok(ops.has("read") && ops.has("claim"), `store calls seen: ${[...ops]}`);
  assert.ok(seen.of("backend").every((e) => e.durationMs! >= 0 && !e.error));
  store.fault = { mode: "throw", message: "connection refused" };
  assert.equal(await cache.getOrSet("k2", () => 2, { ttl: 60 }), 2, "the caller still gets its value");
  const failed = seen.of("error");
  assert.ok(
    failed.length > 0 && failed.every((e) => e.operation && /connection refused/.test(String(e.error))),
  );
  assert.ok(
    seen.of("backend").some((e) => e.error !== undefined),
    "failed store calls are backend events too",
  );
  store.fault = { mode: "none" };
  seen.stop();
  await cache.close();
});

Deno.test("events: a throwing or rejecting listener never breaks a call and is logged once", async () => {
  const logger = new RecordingLogger();
  const cache = await createCache({ logger });
  cache.on("miss", () => {
    throw new Error("listener bug");
  });
  cache.on("load", () => Promise.reject(new Error("async listener bug")));
  const heard: string[] = [];
  cache.on("miss", (e) => void heard.push(e.key!));
  for (let i = 0; i < 5; i++) assert.equal(await cache.getOrSet(`k${i}`, () => i), i);
  await settle();
  assert.deepEqual(heard, ["k0", "k1", "k2", "k3", "k4"], "other listeners still hear every event");
  const warnings = logger.at("warn").filter((m) => m.includes("event listener failed"));
  assert.equal(warnings.length, 1, `logged once: ${warnings}`);
  assert.throws(() => cache.on("hits" as never, () => {}), /event type must be one of hit, miss/);
  assert.throws(() => cache.on("hit", "nope" as never), /listener must be a function/);
  await cache.close();
});

Deno.test("events: the default cache's listeners stay across initCache; each instance has its own", async () => {
  await initCache({ prefix: "ev1" });
  const keys: string[] = [];
  const stop = instance().on("invalidate", (e) => void keys.push(...e.tags!));
  await invalidateTags("before");
  await initCache({ prefix: "ev2" });
  await invalidateTags("after");
  const other = await createCache();
  await other.invalidateTags(["elsewhere"]);
  stop();
  await invalidateTags("removed");
  assert.deepEqual(keys, ["before", "after"]);
  await other.close();
});
