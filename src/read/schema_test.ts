import assert from "node:assert/strict";
import { createCache, SchemaError, type StandardSchemaV1 } from "../../mod.ts";
import { deferred, RecordingLogger } from "../../tests/_helpers.ts";
import { twoLevel } from "../l1/mod.ts";

/** Accepts numbers; its output is the number and a mark, so tests see callers get the output. */
const numbers: StandardSchemaV1<unknown, { n: number; checked: true }> = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate: (value) =>
      typeof (value as { n?: unknown })?.n === "number"
        ? { value: { n: (value as { n: number }).n, checked: true } }
        : { issues: [{ message: "expected a number", path: [{ key: "n" }] }] },
  },
};

Deno.test("schema: a rejected stored value is logged at most once per interval, counted every time", async () => {
  let now = 1_000_000;
  const logger = new RecordingLogger();
  const cache = await createCache({ logger, clock: { now: () => now }, errorLogIntervalMs: 1000 });
  const warnings = () => logger.at("warn").filter((m) => m.includes("fails its schema"));
  for (const key of ["a", "b", "c"]) await cache.set(key, { n: "old" }, { ttl: 60 });
  await cache.getOrSet("a", () => ({ n: 1 }), { ttl: 60, schema: numbers });
  await cache.getOrSet("b", () => ({ n: 2 }), { ttl: 60, schema: numbers });
  assert.equal(cache.metrics()["cache.schema.rejected"], 2);
  assert.equal(warnings().length, 1, "one line within the interval");
  assert.match(warnings()[0], /key a\) fails its schema \(n: expected a number\)/);
  now += 1001;
  assert.deepEqual(await cache.getOrSet("c", () => ({ n: 3 }), { ttl: 60, schema: numbers }), {
    n: 3,
    checked: true,
  });
  assert.equal(warnings().length, 2, "another line after the interval");
  await cache.close();
});

Deno.test("schema: callers who join a load get the output too; a failing load is a SchemaError for all", async () => {
  const cache = await createCache();
  const gate = deferred<{ n: unknown }>();
  let loads = 0;
  const load = () => (loads++, gate.promise);
  const callers = [1, 2, 3].map(() => cache.getOrSet("k", load, { ttl: 60, schema: numbers }));
  gate.resolve({ n: 7 });
  assert.deepEqual(await Promise.all(callers), [1, 2, 3].map(() => ({ n: 7, checked: true })));
  assert.equal(loads, 1);
  assert.deepEqual(await cache.get("k"), { n: 7 }, "the loader's value is what is stored");
  const failing = [1, 2].map(() => cache.getOrSet("bad", () => ({ n: "x" }), { ttl: 60, schema: numbers }));
  for (const call of failing) {
    await assert.rejects(call, (error) => error instanceof SchemaError && error instanceof TypeError);
  }
  assert.equal(await cache.get("bad"), undefined, "not cached");
  // ttl 0 does not cache, and still validates.
  await assert.rejects(cache.getOrSet("z", () => ({ n: "x" }), { ttl: 0, schema: numbers }), SchemaError);
  await cache.close();
});

Deno.test("schema: with l1, a value the schema rejects is not served from L1", async () => {
  const { memoryStore } = await import("../store/memory_store.ts");
  const { faultStore } = await import("../testing/fault_store.ts");
  const store = faultStore(memoryStore()); // remote, so l1 is in front of it
  const writer = await createCache({ store, prefix: "s" });
  const reader = await createCache({ store, prefix: "s", l1: twoLevel({ maxStaleMs: 60_000 }) });
  await writer.set("k", { n: "old" }, { ttl: 60 });
  // Read without schema first: L1 now holds the old shape.
  assert.deepEqual(await reader.getOrSet("k", () => ({ n: 0 }), { ttl: 60 }), { n: "old" });
  assert.deepEqual(await reader.getOrSet("k", () => ({ n: 1 }), { ttl: 60, schema: numbers }), {
    n: 1,
    checked: true,
  });
  assert.equal(reader.metrics()["cache.schema.rejected"], 1);
  await reader.close();
  await writer.close();
});
