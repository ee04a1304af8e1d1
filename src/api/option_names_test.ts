import assert from "node:assert/strict";
import { closest } from "./option_names.ts";
import { cacheWrite, createCache, initCache, recache } from "../../mod.ts";
import { cacheRead } from "./cache_read.ts";
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
