/**
 * The Cloudflare stores beyond the shared suites: bad input, where the KV hybrid keeps what (bodies in KV, only
 * their start in the object), that a body KV returns late is a miss and never the invalidated value, and that
 * the object's keys survive a restart of the runtime (storage, not memory).
 */
import assert from "node:assert/strict";
import { cacheApiTier, type CacheLike, cloudflareStore, durableObjectStore } from "../adapters/cloudflare.ts";
import { createCache } from "../mod.ts";
import { FIXTURE, startWorkers, workerStore, Wrangler } from "./_cloudflare.ts";

const test = (name: string, fn: () => Promise<void> | void) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

const namespace = { idFromName: (name: string) => name, get: () => ({ fetch: () => Promise.reject() }) };
const kv = { get: () => Promise.resolve(null), put: () => Promise.resolve() } as never;

test("cloudflare: bad input is a typed error naming the problem", () => {
  assert.throws(() => durableObjectStore(undefined as never), TypeError);
  assert.throws(
    () => durableObjectStore(namespace, { shards: 0 }),
    /shards must be an integer from 1 to 256/,
  );
  assert.throws(() => durableObjectStore(namespace, { shards: 0 }), RangeError);
  assert.throws(() => durableObjectStore(namespace, { maxValueBytes: 3e6 }), RangeError);
  for (const bad of [1.5, "16", 0]) {
    assert.throws(
      () => durableObjectStore(namespace, { maxValueBytes: bad as never }),
      /maxValueBytes must be a positive integer/,
    );
  }
  assert.throws(() => durableObjectStore(namespace, { shard: 2 } as never), /did you mean "shards"/);
  assert.throws(
    () => cloudflareStore({ kv } as never),
    /durableObject is missing\. Workers KV alone has no compare-and-set/,
  );
  assert.throws(() => cloudflareStore({ durableObject: namespace, kv: {} as never }), TypeError);
  assert.throws(
    () => cloudflareStore({ durableObject: namespace, kv, bodykey: () => true } as never),
    /"bodyKey"/,
  );
});

test("cloudflare kv: a long value's body is in KV, the object keeps its start; short values stay whole; scan", async () => {
  const workers = await startWorkers();
  try {
    const hybrid = await workerStore(workers.base, "kv");
    const object = await workerStore(workers.base, "do"); // reads the object's rows as they are
    const long = "b".repeat(1000), short = "s".repeat(100);
    assert.deepEqual(
      await hybrid.setMany([{ key: "x:e:long", value: long, ttlMs: 60_000 }, {
        key: "x:t:short",
        value: short,
        ttlMs: 60_000,
      }]),
      [true, true],
    );
    assert.deepEqual(await hybrid.getMany(["x:e:long", "x:t:short"]), [long, short]);
    assert.deepEqual(await object.getMany(["x:e:long", "x:t:short"]), ["b".repeat(128), short]);
    assert.deepEqual(await hybrid.getHeads!(["x:e:long"], 64), ["b".repeat(64)]);
    assert.deepEqual(await hybrid.getHeads!(["x:e:long"], 300), ["b".repeat(300)], "longer heads read KV");
    // A body at a key not guessed to hold one (not an entry key) is read from KV once the object points at it.
    await hybrid.setMany([{ key: "x:t:long", value: long, ttlMs: 60_000 }]);
    assert.deepEqual(await hybrid.getMany(["x:t:long"]), [long]);
    // A body that cannot reach KV: the write is reported as not stored, and the object's row is removed.
    const failing = await workerStore(workers.base, "kv-failing");
    assert.deepEqual(await failing.setMany([{ key: "x:e:lost", value: long, ttlMs: 60_000 }]), [false]);
    assert.deepEqual(await object.getMany(["x:e:lost"]), [null], "no row points at a body KV does not have");
    assert.deepEqual(await failing.setMany([{ key: "x:e:small", value: short, ttlMs: 60_000 }]), [true]);
    // Scans go by the object's key order (bytewise UTF-8): keys past the BMP right after the prefix included.
    const keys = ["é:😀", "é:a", "é:\uffff", "é", "éa", "f"];
    await object.setMany(keys.map((key) => ({ key, value: "v", ttlMs: 60_000 })));
    assert.deepEqual((await hybrid.scan!("é:")).sort(), ["é:a", "é:\uffff", "é:😀"].sort());
    await object.setMany(["😀:a", "😀", "😀:b"].map((key) => ({ key, value: "v", ttlMs: 60_000 })));
    assert.deepEqual((await hybrid.scan!("😀:")).sort(), ["😀:a", "😀:b"], "a prefix past the BMP");
  } finally {
    await workers.stop();
  }
});

test("cloudflare kv: a body KV shows late is a miss, never the invalidated value; then the new one", async () => {
  const workers = await startWorkers();
  try {
    const lagging = await workerStore(workers.base, "kv-lag-1500");
    const key = "lag:e:item";
    const v1 = "v1".padEnd(500, "."), v2 = "v2".padEnd(500, ".");
    await lagging.setMany([{ key, value: v1, ttlMs: 60_000 }]);
    assert.equal((await lagging.getMany([key]))[0], null, "v1 not yet in KV: a miss");
    await new Promise((r) => setTimeout(r, 1700));
    assert.equal((await lagging.getMany([key]))[0], v1, "v1 visible");
    // A per-entry invalidation, then a reload: KV still holds v1 for the next 1.5 s.
    await lagging.deleteMany([key]);
    assert.equal((await lagging.getMany([key]))[0], null, "deleted at once, though v1 is still in KV");
    await lagging.setMany([{ key, value: v2, ttlMs: 60_000, ifAbsent: true }]);
    for (let i = 0; i < 5; i++) {
      assert.equal(
        (await lagging.getMany([key]))[0],
        null,
        "KV returns v1, the object holds v2's id: a miss",
      );
    }
    await new Promise((r) => setTimeout(r, 1700));
    assert.equal((await lagging.getMany([key]))[0], v2, "v2 once KV shows it");
  } finally {
    await workers.stop();
  }
});

test("durable object: keys live in the object's storage and survive a restart of workerd", async () => {
  const state = await Deno.makeTempDir({ prefix: "svc-cache-do-state-" });
  try {
    const prefix = `restart${Date.now()}`;
    let loads = 0;
    const read = async (base: string) => {
      const cache = await createCache({ store: await workerStore(base, "do"), prefix });
      try {
        return await cache.getOrSet("item", () => ({ n: ++loads }), { ttl: 600, tags: ["t"] });
      } finally {
        await cache.close();
      }
    };
    const first = await Wrangler.start(FIXTURE, ["wrangler.toml", "second/wrangler.toml"], undefined, state);
    assert.deepEqual(await read(first.base), { n: 1 });
    assert.deepEqual(await read(first.base), { n: 1 });
    await first.stop();
    const second = await Wrangler.start(FIXTURE, ["wrangler.toml", "second/wrangler.toml"], undefined, state);
    try {
      assert.deepEqual(await read(second.base), { n: 1 }, "a hit after the restart: the object kept it");
      assert.equal(loads, 1);
    } finally {
      await second.stop();
    }
  } finally {
    await Deno.remove(state, { recursive: true });
  }
});

/** A Web Cache of the tier's own shape, over a Map it shows (`kept`). */
function mapCache(): { kept: Map<string, Response>; cache: CacheLike } {
  const kept = new Map<string, Response>();
  const cache: CacheLike = {
    match: (r) => Promise.resolve(kept.get(r.url)?.clone()),
    put: (r, res) => (kept.set(r.url, res), Promise.resolve()),
    delete: (r) => Promise.resolve(kept.delete(r.url)),
  };
  return { kept, cache };
}

test("cache api tier: keeps only what is the same for every caller; typed errors", async () => {
  assert.throws(() => cacheApiTier({} as never), /maxStaleMs is required/);
  assert.throws(() => cacheApiTier({ maxStaleMs: 0 }), RangeError);
  assert.throws(() => cacheApiTier({ maxStaleMs: 1, cach: {} } as never), /did you mean "cache"/);
  const { kept, cache } = mapCache();
  const tier = cacheApiTier({ maxStaleMs: 60_000, cache });
  const call = async (url: string, headers: HeadersInit, response: () => Response) => {
    let ran = 0;
    const c = { req: { method: "GET", url, raw: new Request(url, { headers }) }, res: new Response() };
    const answer = await tier(c, () => (ran++, c.res = response(), Promise.resolve()));
    return { ran, answer };
  };
  const plain = () => new Response("x");
  await call("http://a/1", {}, plain);
  assert.equal((await call("http://a/1", {}, plain)).answer?.headers.get("x-cache-tier"), "HIT");
  await call("http://a/2", { authorization: "Bearer t" }, plain);
  await call("http://a/3", {}, () => new Response("x", { headers: { "set-cookie": "s=1" } }));
  await call("http://a/4", {}, () => new Response("x", { headers: { vary: "accept-language" } }));
  await call(
    "http://a/5",
    {},
    () => new Response("x", { headers: { "cache-control": "private, max-age=9" } }),
  );
  await call("http://a/6", {}, () => new Response("x", { status: 404 }));
  // What cacheResponse would not store either: stale already by its own headers (RFC 9111 §4.2.1).
  const own = (headers: HeadersInit) => () => new Response("x", { headers });
  await call("http://a/7", {}, own({ "cache-control": "no-cache" }));
  await call("http://a/8", {}, own({ "cache-control": "public, max-age=0" }));
  await call("http://a/9", {}, own({ expires: "Thu, 01 Jan 1970 00:00:00 GMT" }));
  await call("http://a/10", {}, own({ "cache-control": "public, max-age=60", age: "60" }));
  await call("http://a/11", {}, own({ "cache-control": "public, max-age=60", age: "10" }));
  assert.deepEqual(
    [...kept.keys()],
    ["http://a/1", "http://a/11"],
    "only the response the same for every caller, and still fresh, is kept",
  );
  assert.equal((await call("http://a/1", { cookie: "s=1" }, plain)).ran, 1, "a request with a cookie passes");
});

test("cache api tier: serves a kept response with its own Cache-Control and grown Age, only while fresh", async () => {
  const { cache } = mapCache();
  const tier = cacheApiTier({ maxStaleMs: 30_000, cache });
  let now = 1_000_000_000_000;
  const realNow = Date.now;
  Date.now = () => now;
  try {
    const call = async (url: string, headers: HeadersInit) => {
      let ran = 0;
      const c = { req: { method: "GET", url, raw: new Request(url) }, res: new Response() };
      const answer = await tier(c, () => (ran++, c.res = new Response("x", { headers }), Promise.resolve()));
      return { ran, answer };
    };
    const short = { "cache-control": "public, max-age=1, must-revalidate" };
    assert.equal((await call("http://b/short", short)).ran, 1);
    now += 500;
    const young = await call("http://b/short", short);
    assert.equal(young.answer?.headers.get("x-cache-tier"), "HIT");
    assert.equal(young.answer?.headers.get("cache-control"), "public, max-age=1, must-revalidate", "its own");
    now += 2500;
    assert.equal(
      (await call("http://b/short", short)).ran,
      1,
      "past its own max-age: let through, not served",
    );

    const long = { "cache-control": "public, max-age=60", age: "10" };
    await call("http://b/long", long);
    now += 5_400;
    const hit = (await call("http://b/long", long)).answer!;
    assert.equal(hit.headers.get("age"), "15", "its Age plus the 5 s it was kept");
    assert.equal(hit.headers.get("cache-control"), "public, max-age=60");
    assert.equal(hit.headers.get("x-cache-api-stored-at"), null);

    // Expires without Date (as handlers send it): fresh for its whole lifetime, counted from when it was kept.
    const expiring = { expires: new Date(now + 20_000).toUTCString() };
    await call("http://b/expires", expiring);
    now += 15_000;
    assert.equal((await call("http://b/expires", expiring)).answer?.headers.get("x-cache-tier"), "HIT");
    now += 6_000;
    assert.equal((await call("http://b/expires", expiring)).ran, 1, "past its Expires: let through");

    await call("http://b/none", {});
    now += 1000;
    const none = (await call("http://b/none", {})).answer!;
    assert.equal(none.headers.get("x-cache-tier"), "HIT");
    assert.equal(none.headers.get("cache-control"), null, "none of the tier's own");
    now += 30_000;
    assert.equal((await call("http://b/none", {})).ran, 1, "past maxStaleMs: let through");
  } finally {
    Date.now = realNow;
  }
});

test("durable object: expired keys leave the object's storage with later writes, not only its reads", async () => {
  const state = await Deno.makeTempDir({ prefix: "svc-cache-do-sweep-" });
  try {
    const wrangler = await Wrangler.start(
      FIXTURE,
      ["wrangler.toml", "second/wrangler.toml"],
      undefined,
      state,
    );
    try {
      const store = await workerStore(wrangler.base, "do");
      const short = Array.from({ length: 10 }, (_, i) => ({ key: `sweep:${i}`, value: "v", ttlMs: 50 }));
      await store.setMany([...short, { key: "sweep:kept", value: "v", ttlMs: 60_000 }]);
      await new Promise((r) => setTimeout(r, 150));
      await store.setMany([{ key: "sweep:later", value: "v", ttlMs: 60_000 }]);
    } finally {
      await wrangler.stop();
    }
    // The object's SQLite file as the local runtime keeps it: what is still stored, not what reads show.
    const files: string[] = [];
    const walk = async (dir: string) => {
      for await (const item of Deno.readDir(dir)) {
        const path = `${dir}/${item.name}`;
        if (item.isDirectory) await walk(path);
        else if (item.name.endsWith(".sqlite")) files.push(path);
      }
    };
    await walk(state);
    // node:sqlite (Deno 2.2+) has no types in this repository's @types/node@20: the part used here.
    const { DatabaseSync } = await import(["node", "sqlite"].join(":")) as {
      DatabaseSync: new (path: string, options: { readOnly: boolean }) => {
        prepare(sql: string): { get(): unknown; all(): { key: string }[] };
        close(): void;
      };
    };
    const keys = files.flatMap((file) => {
      const db = new DatabaseSync(file, { readOnly: true });
      try {
        const table = db.prepare("SELECT name FROM sqlite_master WHERE name = 'svc_cache'").get();
        return table ? db.prepare("SELECT key FROM svc_cache").all().map((row) => row.key) : [];
      } finally {
        db.close();
      }
    });
    assert.deepEqual(keys.sort(), ["sweep:kept", "sweep:later"]);
  } finally {
    await Deno.remove(state, { recursive: true });
  }
});
