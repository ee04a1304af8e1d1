import assert from "node:assert/strict";
import { closest } from "./option_names.ts";
import { cacheWrite, createCache, initCache, prometheusMetrics, recache } from "../../mod.ts";
import { metricsHandler } from "../hono/mod.ts";
import { cacheRead } from "./cache_read.ts";
import { freshCache } from "../../tests/_helpers.ts";
import { memoryStore } from "../store/memory_store.ts";
import { redisStore } from "../../adapters/redis.ts";
import { upstashStore } from "../../adapters/upstash.ts";
import { denoKvStore } from "../../adapters/deno_kv.ts";
import { otel } from "../telemetry/mod.ts";

const typo = (name: string, suggestion: string) => ({
  name: "TypeError",
  message: new RegExp(`unknown option "${name}"; did you mean "${suggestion}"\\?`),
});

Deno.test("options: a typo in any options object is a TypeError naming the closest option", async () => {
  const cache = await createCache();
  try {
    assert.throws(() => cacheWrite({ tagz: ["t"] } as never, () => 1), typo("tagz", "tags"));
    assert.throws(() => cacheWrite({ key: "k" } as never, () => 1), /"key": a write has no entry of its own/);
    const write = cacheWrite({ tags: ["t"] }, () => 1);
    await assert.rejects(
      write(undefined, { waitUntill: () => {} } as never),
      typo("waitUntill", "waitUntil"),
    );
    const reader = cacheRead({ key: "r", ttl: 60 }, () => 1);
    assert.throws(() => recache(reader, { includes: [] } as never), typo("includes", "include"));
    await assert.rejects(cache.invalidateTags(["t"], { sfot: true } as never), typo("sfot", "soft"));
    await assert.rejects(cache.getOrSet("k", () => 1, { key: "other" } as never), /unknown option "key"/);
    await assert.rejects(
      cache.set("k", 1, { timeoutMs: 5 } as never),
      /Cannot set "k": unknown option "timeoutMs"/,
    );
    await assert.rejects(cache.getOrSetMany(["k"], (m) => m, { tagz: [] } as never), typo("tagz", "tags"));
    assert.throws(
      () => cacheRead({ key: "r", lock: { pollMS: 5 } } as never, () => 1),
      typo("pollMS", "pollMs"),
    );
    assert.throws(() => memoryStore({ maxEntires: 5 } as never), typo("maxEntires", "maxEntries"));
    assert.throws(
      () => redisStore("redis://127.0.0.1:1", { connectTimeout: 5 } as never),
      typo("connectTimeout", "connectTimeoutMs"),
    );
    assert.throws(
      () => upstashStore({ url: "http://127.0.0.1:1", token: "t", timeout: 5 } as never),
      typo("timeout", "timeoutMs"),
    );
    const kv = await Deno.openKv(":memory:");
    try {
      assert.throws(
        () => denoKvStore(kv, { rot: "x" } as never),
        /Cannot create Deno KV store: unknown option "rot"/,
      );
      assert.throws(() => denoKvStore(kv, { closeKV: true } as never), typo("closeKV", "closeKv"));
    } finally {
      kv.close();
    }
    await assert.rejects(createCache({ telemetry: otel({ span: "all" } as never) }), typo("span", "spans"));
  } finally {
    await cache.close();
  }
});

Deno.test("options: initCache({ ttl }) says where a ttl goes instead of suggesting url", async () => {
  const error = await initCache({ ttl: 60 } as never).catch((e) => e);
  assert.ok(error instanceof TypeError);
  assert.match(
    error.message,
    /unknown option "ttl": a ttl is set per cached function \(cacheRead\(\{ ttl \}\)/,
  );
  assert.doesNotMatch(error.message, /did you mean/);
  await assert.rejects(initCache({ maxEntries: 5 } as never), /memoryStore\(\{ maxEntries \}\)/);
});

Deno.test("options: suggestions are plausible typos only", () => {
  const known = ["url", "token", "store", "prefix", "deadlineMs", "tagTtl", "l1"];
  assert.equal(closest("ttl", ["url", "token"]), undefined, "ttl is not url");
  assert.equal(closest("ttl", known), "tagTtl", "a name inside a known one");
  assert.equal(closest("xyz", known), undefined);
  assert.equal(closest("urll", known), "url");
  assert.equal(closest("URL", known), "url");
  assert.equal(closest("deadline", known), "deadlineMs", "a prefix of a known name");
  assert.equal(closest("tokne", known), "token", "a swap of neighbours is one edit");
  assert.equal(closest("sotre", known), "store");
  assert.equal(closest("prefx", known), "prefix");
  assert.equal(closest("tagsTtl", known), "tagTtl");
});

Deno.test("options: an option read alike everywhere (flags, name, signal, logger) of the wrong type is a TypeError", async () => {
  const cache = await createCache();
  const read = cache.cacheRead({ key: "k:{id}", ttl: 60 }, ({ id }: { id: number }) => id);
  const wrong = (option: string, expected: RegExp) => ({
    name: "TypeError",
    message: new RegExp(`${option} must be ${expected.source}`),
  });
  const flag = /true or false/;
  await assert.rejects(read({ id: 1 }, { force: "false" as never }), wrong("force", flag));
  assert.throws(
    () => cache.cacheRead({ key: "k", zeroCopy: "no" as never }, () => 1),
    wrong("zeroCopy", flag),
  );
  assert.throws(
    () => cache.cacheRead({ key: "k", smoothExpiry: "y" as never }, () => 1),
    wrong("smoothExpiry", flag),
  );
  assert.throws(
    () => cache.cacheRead({ key: "k", name: 42 as never }, () => 1),
    wrong("name", /a non-empty string/),
  );
  await assert.rejects(read({ id: 1 }, { signal: {} as never }), wrong("signal", /an AbortSignal/));
  assert.throws(() => cache.cacheRead({ key: "k", l1: "false" as never }, () => 1), wrong("l1", flag));
  await assert.rejects(cache.getOrSet("k", () => 1, { l1: 0 as never }), wrong("l1", flag));
  await assert.rejects(cache.getOrSetMany(["k"], (keys) => keys, { l1: "no" as never }), wrong("l1", flag));
  await assert.rejects(createCache({ l1: "yes" as never }), /l1 takes the feature its entry point makes/);
  await assert.rejects(cache.getOrSet("k", () => 1, { zeroCopy: 1 as never }), wrong("zeroCopy", flag));
  await assert.rejects(cache.invalidateTags(["t"], { soft: "no" as never }), wrong("soft", flag));
  await assert.rejects(
    cache.getOrSetMany(["k"], (keys) => keys, { smoothExpiry: "y" as never }),
    wrong("smoothExpiry", flag),
  );
  await assert.rejects(
    createCache({ logger: {} as never }),
    wrong("logger", /an object with debug and warn/),
  );
  await assert.rejects(createCache({ debug: "yes" as never }), wrong("debug", flag));
  await assert.rejects(createCache({ metrics: 1 as never }), wrong("metrics", flag));
  assert.throws(() => cacheWrite({ tags: [], name: "" }, () => 1), wrong("name", /a non-empty string/));
  assert.throws(
    () => redisStore("redis://127.0.0.1:1", { closeClient: "no" as never }),
    wrong("closeClient", flag),
  );
  assert.throws(() => denoKvStore({} as never, { push: "no" as never }), wrong("push", flag));
  // Nothing was loaded or stored by the refused calls.
  assert.deepEqual(await cache.keys("*"), []);
  // The right types pass; null stands for absent, as fetch's signal: null does.
  assert.equal(await read({ id: 2 }, { force: false, signal: new AbortController().signal }), 2);
  assert.equal(await read({ id: 3 }, { signal: null as never }), 3);
  await cache.close();
});

Deno.test("options: counts and sizes are positive integers", async () => {
  const count = (option: string) => ({
    name: "RangeError",
    message: new RegExp(`${option} must be a positive integer`),
  });
  assert.throws(() => memoryStore({ maxEntries: 1.5 }), count("maxEntries"));
  assert.throws(() => memoryStore({ maxBytes: 0 }), count("maxBytes"));
  assert.throws(() => memoryStore({ maxValueBytes: Infinity }), count("maxValueBytes"));
  await assert.rejects(createCache({ breakerThreshold: 0.5 }), count("breakerThreshold"));
  await assert.rejects(createCache({ maxPendingInvalidations: 2.5 }), count("maxPendingInvalidations"));
  for (const bad of [-1, 0, NaN, Infinity, "16" as never, 1.5]) {
    assert.throws(() => redisStore("redis://127.0.0.1:1", { maxValueBytes: bad }), count("maxValueBytes"));
    assert.throws(
      () => upstashStore({ url: "http://127.0.0.1:1", token: "t", maxValueBytes: bad }),
      count("maxValueBytes"),
    );
  }
  assert.throws(() => upstashStore({ url: "http://127.0.0.1:1", token: "t", timeoutMs: -1 }), {
    name: "RangeError",
    message: /timeoutMs must be a positive number/,
  });
  for (const bad of [-1, 1.5, NaN]) {
    assert.throws(() => upstashStore({ url: "http://127.0.0.1:1", token: "t", retries: bad }), {
      name: "RangeError",
      message: /retries must be a whole number of 0 or more/,
    });
  }
  upstashStore({ url: "http://127.0.0.1:1", token: "t", retries: 0 });
});

Deno.test("options: a store given something that is not its client is a TypeError naming what it expects", () => {
  const notAClient = (what: RegExp, missing: string) => ({
    name: "TypeError",
    message: new RegExp(`${what.source}.*, current value is ${missing}$`),
  });
  const redis = /Cannot create Redis store: expected a redis:\/\/ URL or a node-redis client/;
  assert.throws(
    () => redisStore({ url: "redis://127.0.0.1:1" } as never),
    notAClient(redis, "an object without mGet\\(\\)"),
  );
  assert.throws(() => redisStore(5 as never), notAClient(redis, "number"));
  assert.throws(() => redisStore(null as never), notAClient(redis, "null"));
  const kv = /Cannot create Deno KV store: expected a Deno.Kv/;
  assert.throws(() => denoKvStore(null as never), notAClient(kv, "null"));
  assert.throws(() => denoKvStore({ get() {} } as never), notAClient(kv, "an object without getMany\\(\\)"));
});

Deno.test("options: onResult must be a function, checked before the loader runs", async () => {
  await freshCache();
  let loads = 0;
  const get = cacheRead({ key: "r" }, () => ++loads);
  await assert.rejects(
    get(undefined, { onResult: 5 as never }),
    /onResult must be a function, current value is 5/,
  );
  assert.equal(loads, 0);
});

Deno.test("options: the parts a cache calls into (store, clock, random, telemetry, metrics) are checked when given, and so are call options", async () => {
  const named = (pattern: RegExp) => ({ name: "TypeError", message: pattern });
  await assert.rejects(
    createCache({ store: {} as never }),
    named(/^Cannot create cache: expected a store, current value is an object without getMany\(\)$/),
  );
  await assert.rejects(
    createCache({ store: "redis://h" as never }),
    named(/expected a store, current value is string/),
  );
  const noCapabilities = { ...memoryStore(), capabilities: undefined };
  await assert.rejects(
    createCache({ store: noCapabilities as never }),
    named(/an object without capabilities/),
  );
  await assert.rejects(createCache({ clock: Date.now as never }), named(/expected a clock \(\{ now: /));
  await assert.rejects(createCache({ random: 5 as never }), named(/random must be a function/));
  await assert.rejects(
    createCache({ telemetry: otel({ tracer: {} as never }) }),
    named(
      /telemetry: expected a tracer \(trace.getTracer\(\)\), current value is an object without startActiveSpan/,
    ),
  );
  await assert.rejects(
    createCache({ telemetry: otel({ meter: {} as never, spans: "none" }) }),
    named(/telemetry: expected a meter/),
  );
  const cache = await createCache();
  const read = cache.cacheRead({ key: "k:{id}" }, ({ id }: { id: number }) => id);
  await assert.rejects(
    read({ id: 1 }, null as never),
    named(/Cannot call k:\{id\}: expected an options object, current value is null/),
  );
  await assert.rejects(
    cache.getOrSetMany(["a"], (keys) => keys, null as never),
    named(/Cannot cache getOrSetMany: expected an options object, current value is null/),
  );
  assert.throws(() => prometheusMetrics({} as never), named(/Cannot render metrics: expected a cache/));
  assert.throws(() => metricsHandler({} as never), named(/Cannot serve metrics: expected a function/));
  await cache.close();
});
