/**
 * Redis over TCP, Redis Cluster and Upstash against real servers: round trips counted at the server, failures
 * made real by killing processes, bad URLs and credentials.
 */
import assert from "node:assert/strict";
import { cacheRead, cacheWrite, closeCache, getMetrics, initCache, instance, resetMetrics } from "../mod.ts";
import { parseRedisUrl, redisStore } from "../adapters/redis.ts";
import { upstashStore } from "../adapters/upstash.ts";
import { freePort, redisCli, RedisServer, UpstashBridge } from "./_servers.ts";
import { RecordingLogger } from "./_helpers.ts";

// Clients keep sockets and reconnect timers by design; each test closes its cache.
const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

const userReader = () => {
  const loads: number[] = [];
  const get = cacheRead(
    { key: "user:{userId}:profile", tags: ["user:{userId}"], ttl: 60 },
    ({ userId }: { userId: number }) => (loads.push(userId), { userId, name: "Ada" }),
  );
  return { get, loads };
};

test("redis: a hit with its tag check is exactly one MGET; invalidation is one DEL, never KEYS or SCAN", async () => {
  const server = await RedisServer.start();
  try {
    await initCache({ url: server.url, prefix: "rt" });
    const { get, loads } = userReader();
    const invalidate = cacheWrite({ tags: ["user:{userId}"] }, (_: { userId: number }) => 0);
    await get({ userId: 1 });
    await server.resetStats();
    for (let i = 0; i < 50; i++) await get({ userId: 1 });
    const afterHits = await server.commandCounts();
    assert.deepEqual(Object.keys(afterHits).filter((c) => c !== "config|resetstat" && c !== "info"), [
      "mget",
    ]);
    assert.equal(afterHits.mget, 50);
    assert.equal(loads.length, 1);
    await server.resetStats();
    await invalidate({ userId: 1 });
    const afterInvalidation = await server.commandCounts();
    assert.equal(afterInvalidation.del, 1);
    assert.equal(
      afterInvalidation.set ?? 0,
      0,
      "no version is written: a new one is created by the next load",
    );
    assert.equal(afterInvalidation.keys ?? 0, 0);
    assert.equal(afterInvalidation.scan ?? 0, 0);
    await get({ userId: 1 });
    assert.equal(loads.length, 2);
  } finally {
    await closeCache();
    await server.stop();
  }
});

test("redis: a user without @dangerous (no ROLE) has its invalidations delivered, seen by another process", async () => {
  const server = await RedisServer.start();
  try {
    await redisCli(server.port, "acl", "setuser", "app", "on", ">apppw", "~*", "&*", "+@all", "-@dangerous");
    const logger = new RecordingLogger();
    const url = `redis://app:apppw@127.0.0.1:${server.port}`;
    const { createCache } = await import("../mod.ts");
    const [app, other] = [
      await createCache({ url, prefix: "acl", logger }),
      await createCache({ url: server.url, prefix: "acl" }),
    ];
    try {
      let db = 1;
      const read = (cache: typeof app) => cache.getOrSet("k", () => db, { ttl: 60, tags: ["t"] });
      assert.equal(await read(app), 1);
      assert.equal(await read(other), 1, "a hit for the other process");
      db = 2;
      const { delivered } = await app.invalidateTags(["t"]);
      assert.equal(delivered, true);
      assert.equal(await read(other), 2, "the invalidation reached the server");
      assert.deepEqual(logger.at("error"), []);
    } finally {
      await other.close();
      assert.deepEqual(await app.close(), { keys: [], namespace: false });
    }
  } finally {
    await server.stop();
  }
});

test("redis: an unchanged entry is parsed once, yet every hit gets its own copy and a rewritten entry is served at once", async () => {
  const server = await RedisServer.start();
  try {
    await initCache({ url: server.url, prefix: "dm" });
    let loads = 0;
    const doc = ({ id }: { id: number }) => (loads++, { id, items: [1, 2] });
    const get = cacheRead({ key: "doc:{id}", tags: ["doc:{id}"], ttl: 60 }, doc);
    const shared = cacheRead({ key: "frozen:{id}", ttl: 60, zeroCopy: true }, doc);
    await get({ id: 1 });
    const first = await get({ id: 1 }), second = await get({ id: 1 });
    assert.notEqual(first, second, "each hit is a copy");
    first.items.push(99);
    assert.deepEqual(
      await get({ id: 1 }),
      { id: 1, items: [1, 2] },
      "a caller's change reaches no other caller",
    );
    // Another writer changes the entry's text in place (same token and versions, so it stays valid).
    const key = "dm:v1:e:doc:1";
    const text = await redisCli(server.port, "GET", key);
    await redisCli(server.port, "SET", key, text.replace('"items":[1,2]', '"items":[7]'));
    assert.deepEqual(await get({ id: 1 }), { id: 1, items: [7] }, "a new text is decoded again");
    await shared({ id: 1 });
    const a = await shared({ id: 1 }), b = await shared({ id: 1 });
    assert.equal(a, b, "zeroCopy shares the kept tree");
    assert.ok(Object.isFrozen(a) && Object.isFrozen(a.items));
    assert.equal(loads, 2);
  } finally {
    await closeCache();
    await server.stop();
  }
});

test("upstash: a hit is one HTTP request; concurrent hits share one /pipeline request", async () => {
  const server = await RedisServer.start();
  const bridge = await UpstashBridge.start(server.url);
  try {
    await initCache({ url: bridge.url, token: bridge.token, prefix: "rt" });
    const { get, loads } = userReader();
    await get({ userId: 1 });
    const before = await bridge.requests();
    for (let i = 0; i < 20; i++) await get({ userId: 1 });
    assert.equal((await bridge.requests()) - before, 20);
    const beforeBurst = await bridge.requests();
    await Promise.all(Array.from({ length: 50 }, () => get({ userId: 1 })));
    const burst = (await bridge.requests()) - beforeBurst;
    assert.ok(burst <= 2, `50 concurrent hits took ${burst} requests`);
    assert.equal(loads.length, 1);
    const m = await redisCli(server.port, "info", "commandstats");
    assert.doesNotMatch(m, /cmdstat_(keys|scan):/);
  } finally {
    await closeCache();
    await bridge.stop();
    await server.stop();
  }
});

test("upstash: values survive exactly (strings that look like numbers, unicode); a wrong token serves the loader", async () => {
  const server = await RedisServer.start();
  const bridge = await UpstashBridge.start(server.url);
  const logger = new RecordingLogger();
  try {
    await initCache({ url: bridge.url, token: bridge.token, prefix: "vals", logger });
    const get = cacheRead(
      { key: "v:{k}", ttl: 60 },
      ({ k }: { k: string }) => k === "n" ? "123" : "é😀\u0000",
    );
    for (let i = 0; i < 2; i++) {
      assert.equal(await get({ k: "n" }), "123");
      assert.equal(await get({ k: "u" }), "é😀\u0000");
    }
    assert.equal(getMetrics()["cache.hit"] >= 2, true);
    resetMetrics();
    await initCache({ url: bridge.url, token: "wrong-token-value", prefix: "vals", logger, deadlineMs: 500 });
    assert.equal(await get({ k: "n" }), "123");
    assert.ok(getMetrics()["cache.error"] >= 1);
    assert.ok(
      logger.lines.every((l) =>
        !l.message.includes("wrong-token-value") && !l.message.includes(bridge.token)
      ),
    );
  } finally {
    await closeCache();
    await bridge.stop();
    await server.stop();
  }
});

test("upstash: UPSTASH_REDIS_REST_URL and _TOKEN fill in a missing url or token", async () => {
  const server = await RedisServer.start();
  const bridge = await UpstashBridge.start(server.url);
  try {
    const env = { UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token };
    await initCache({ url: "upstash:", env, prefix: "envtest" });
    const get = cacheRead({ key: "e", ttl: 60 }, () => 1);
    await get();
    assert.equal(instance().store.name, "upstash");
    assert.deepEqual(await instance().keys(), ["e"]);
    await initCache({ url: bridge.url, env: { UPSTASH_REDIS_REST_TOKEN: bridge.token }, prefix: "envtest" });
    assert.deepEqual(await instance().getMany(["e"]), [1]);
    await assert.rejects(initCache({ url: "upstash:", env: {} }), /UPSTASH_REDIS_REST_URL is unset/);
  } finally {
    await closeCache();
    await bridge.stop();
    await server.stop();
  }
});

test("redis: down at start - the breaker starts open, calls skip Redis at once, debug lines tell the real time", async () => {
  const logger = new RecordingLogger();
  const port = freePort();
  const started = performance.now();
  await initCache({ url: `redis://127.0.0.1:${port}`, deadlineMs: 200, logger, debug: true });
  assert.ok(performance.now() - started < 1500, "initCache did not hang");
  assert.equal(logger.at("warn").length, 1, "one log line: unreachable at start");
  assert.match(logger.at("warn")[0], /cannot be reached at start-up/);
  try {
    const { get, loads } = userReader();
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      assert.deepEqual(await get({ userId: 1 }), { userId: 1, name: "Ada" });
      const ms = performance.now() - t0;
      assert.ok(
        ms < 150,
        `call ${i} took ${ms.toFixed(0)} ms: the open breaker skips Redis (a call to it waits 200)`,
      );
    }
    assert.equal(loads.length, 10);
    assert.equal(logger.at("warn").length, 1, "still one log line for the outage");
    const slow = cacheRead({ key: "slow", ttl: 60 }, () => new Promise((r) => setTimeout(r, 50, 1)));
    await slow();
    const line = logger.at("debug").find((l) => l.startsWith("[MISS] key=slow"))!;
    const reported = Number(/duration_ms=([\d.]+)ms/.exec(line)![1]);
    assert.ok(reported >= 49, `the debug line reports the call's ${reported} ms, the loader's 50 included`);
  } finally {
    await closeCache();
  }
});

test("redis: killed mid-run, callers get loader values; after restart the cache serves again", async () => {
  const server = await RedisServer.start();
  try {
    await initCache({
      url: server.url,
      deadlineMs: 300,
      breakerCooldownMs: 100,
      logger: new RecordingLogger(),
    });
    const { get, loads } = userReader();
    await get({ userId: 1 });
    await get({ userId: 1 });
    assert.equal(loads.length, 1);
    await server.kill();
    for (let i = 0; i < 5; i++) assert.equal((await get({ userId: 1 })).name, "Ada");
    assert.equal(loads.length, 6);
    await server.restart();
    let hitsAgain = false;
    for (let i = 0; i < 60 && !hitsAgain; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const before = loads.length;
      await get({ userId: 1 });
      await get({ userId: 1 });
      hitsAgain = loads.length - before <= 1;
    }
    assert.ok(hitsAgain, "hits resume after the server is back");
  } finally {
    await closeCache();
    await server.stop();
  }
});

test("redis: a wrong password serves the loader, is reported as an authentication failure, never shown", async () => {
  const server = await RedisServer.start(["--requirepass", "right-pass"]);
  const logger = new RecordingLogger();
  try {
    await initCache({
      url: `redis://:sup3r-secret@127.0.0.1:${server.port}`,
      deadlineMs: 300,
      logger,
      debug: true,
    });
    const { get, loads } = userReader();
    await get({ userId: 1 });
    await get({ userId: 1 });
    assert.equal(loads.length, 2);
    assert.ok(getMetrics()["cache.error"] >= 1);
    assert.ok(logger.lines.length > 0);
    assert.ok(logger.lines.every((l) => !l.message.includes("sup3r-secret")), JSON.stringify(logger.lines));
    assert.match(logger.at("warn")[0], /cannot be reached at start-up: authentication failed \(WRONGPASS/);
    await initCache({ url: `redis://:right-pass@127.0.0.1:${server.port}`, deadlineMs: 1000 });
    await get({ userId: 1 });
    await get({ userId: 1 });
    assert.equal(loads.length, 3, "the right password caches");
  } finally {
    await closeCache();
    await server.stop();
  }
});

test("redis: a password never shows in logs, events or errors when the connection fails mid-run", async () => {
  const secret = "mid-run-s3cret";
  const server = await RedisServer.start(["--requirepass", secret]);
  const logger = new RecordingLogger();
  const seen: string[] = [];
  try {
    await initCache({
      url: `redis://:${secret}@127.0.0.1:${server.port}`,
      deadlineMs: 300,
      logger,
      debug: true,
    });
    instance().on("error", (e) => void seen.push(`${e.error}`, `${(e.error as Error)?.stack}`));
    instance().on("backend", (e) => void seen.push(`${e.error ?? ""}`, `${(e.error as Error)?.cause ?? ""}`));
    const { get, loads } = userReader();
    await get({ userId: 1 });
    // Its connections killed by the server, then the server gone, then back (empty): served throughout.
    await redisCli(server.port, "-a", secret, "--no-auth-warning", "CLIENT", "KILL", "TYPE", "normal");
    await get({ userId: 2 });
    await server.kill();
    for (let userId = 3; userId < 6; userId++) await get({ userId });
    await instance().invalidateTags(["user:1"]); // queued while the server is gone
    await server.restart();
    await new Promise((r) => setTimeout(r, 500));
    await get({ userId: 6 });
    assert.equal(loads.length, 6, "every caller was served");
    assert.ok(getMetrics()["cache.error"] >= 1, "the failures were counted");
    assert.ok(seen.length > 0 && logger.lines.length > 0, "there were errors and log lines to look at");
    const shown = [...logger.lines.map((l) => l.message), ...seen];
    assert.deepEqual(shown.filter((line) => line.includes(secret)), [], "the password is nowhere");
  } finally {
    await closeCache();
    await server.stop();
  }
});

test("redis: malformed URLs and bad cluster ports are TypeErrors naming the part", async () => {
  await assert.rejects(initCache({ url: "redis://localhost:70000" }), /bad port "70000"/);
  await assert.rejects(initCache({ url: "redis://a:7000,b:x,c:7002" }), /bad port "x" in "b:x"/);
  await assert.rejects(initCache({ url: "redis://localhost:abc" }), /bad port "abc" in "localhost:abc"/);
  await assert.rejects(initCache({ url: "redis://a:b:c" }), /bad host "a:b:c"/);
  await assert.rejects(initCache({ url: "redis://a:7000,b:7001/0" }), /a cluster has no database/);
  await assert.rejects(initCache({ url: "redis://localhost:6379/db" }), /bad database "db"/);
  assert.deepEqual(parseRedisUrl("rediss://u:p%40ss@h:6380/2"), {
    tls: true,
    username: "u",
    password: "p@ss",
    database: 2,
    nodes: [{ host: "h", port: 6380 }],
    cluster: false,
  });
  assert.deepEqual(parseRedisUrl("redis://a:7000,b:7001,c").nodes, [
    { host: "a", port: 7000 },
    { host: "b", port: 7001 },
    { host: "c", port: 6379 },
  ]);
  assert.equal(parseRedisUrl("redis://:pw@h").password, "pw");
});

const clusterUrl = Deno.env.get("TEST_CLUSTER_URL");
if (clusterUrl) {
  test("redis cluster: keys spread over every master; a hit with tags in other slots still serves", async () => {
    await initCache({ url: clusterUrl, prefix: `spread${crypto.randomUUID().slice(0, 6)}` });
    try {
      const { get, loads } = userReader();
      for (let userId = 0; userId < 60; userId++) await get({ userId });
      for (let userId = 0; userId < 60; userId++) await get({ userId });
      assert.equal(loads.length, 60);
      const ports = clusterUrl.replace("redis://", "").split(",").map((h) => Number(h.split(":")[1]));
      const sizes = await Promise.all(ports.map(async (p) => Number(await redisCli(p, "dbsize"))));
      assert.ok(sizes.every((n) => n > 0), `keys per master: ${sizes}`);
      assert.equal(instance().store.name, "redis-cluster");
    } finally {
      await closeCache();
    }
  });

  test("redis cluster: an existing client is used as is", async () => {
    const { createCluster } = await import("@redis/client");
    const nodes = clusterUrl.replace("redis://", "").split(",").map((h) => ({ url: `redis://${h}` }));
    const cluster = createCluster({ rootNodes: nodes });
    await cluster.connect();
    try {
      await initCache({ store: redisStore(cluster as never), prefix: "own" });
      const get = cacheRead({ key: "own", ttl: 60 }, () => "mine");
      await get();
      assert.match(String(await cluster.get("own:v1:e:own")), /^\["svc4",.*,"mine"\]$/);
    } finally {
      await closeCache();
      await cluster.close();
    }
  });
}

test("upstash: an existing @upstash/redis client is used as is", async () => {
  const server = await RedisServer.start();
  const bridge = await UpstashBridge.start(server.url);
  try {
    const { Redis } = await import("@upstash/redis");
    const client = new Redis({ url: bridge.url, token: bridge.token, automaticDeserialization: false });
    await initCache({ store: upstashStore(client), prefix: "ownup" });
    const get = cacheRead({ key: "x", ttl: 60 }, () => "mine");
    await get();
    assert.match(String(await client.get("ownup:v1:e:x")), /^\["svc4",.*,"mine"\]$/);
  } finally {
    await closeCache();
    await bridge.stop();
    await server.stop();
  }
});

test("redis: closeCache with a paused server is bounded (the graceful close gives way to a disconnect)", async () => {
  const server = await RedisServer.start();
  try {
    await initCache({ url: server.url, prefix: "close" });
    const get = cacheRead({ key: "c", ttl: 60 }, () => "v");
    await get();
    await redisCli(server.port, "CLIENT", "PAUSE", "20000", "ALL");
    assert.equal(await get({}, { force: true }), "v", "a call in flight during the pause");
    const started = performance.now();
    await closeCache();
    const ms = performance.now() - started;
    assert.ok(ms < 3500, `closeCache took ${ms.toFixed(0)} ms with a server that never answers`);
  } finally {
    await server.stop(); // (CLIENT UNPAUSE would itself wait out the pause on Redis 7.0)
  }
});

test("redis and upstash: refreshMany replaces the ends of a value in one script, lengths in bytes, the value left on the server", async () => {
  const server = await RedisServer.start();
  const bridge = await UpstashBridge.start(server.url);
  const stores = [redisStore(server.url), upstashStore({ url: bridge.url, token: bridge.token })];
  try {
    for (const store of stores) {
      const key = `refresh:${store.name}`;
      const middle = "é😀".repeat(1000); // multi-byte: the script counts bytes, the core UTF-16 units
      await store.setMany([{ key, value: `["ü|${middle}|ü"]`, ttlMs: 60_000 }]);
      const refresh = {
        key,
        ifStartsWith: `["ü|`,
        ifEndsWith: `|ü"]`,
        head: `["ö2|`,
        tail: `|"]`,
        ttlMs: 60_000,
      };
      assert.deepEqual(
        await store.refreshMany!([{ ...refresh, ifStartsWith: `["ö|` }, { ...refresh, ifEndsWith: `|ö"]` }]),
        [false, false],
        store.name,
      );
      const received = async () =>
        Number((await redisCli(server.port, "info", "stats")).match(/total_net_input_bytes:(\d+)/)![1]);
      const before = await received();
      assert.deepEqual(await store.refreshMany!([refresh]), [true], store.name);
      const bytes = await received() - before; // the value alone is 6,000 bytes
      assert.ok(bytes < 2_000, `${store.name}: ${bytes} bytes reached the server for the refresh`);
      assert.deepEqual(await store.getMany([key]), [`["ö2|${middle}|"]`], store.name);
    }
  } finally {
    for (const store of stores) await store.close?.();
    await bridge.stop();
    await server.stop();
  }
});

test("upstash: a url's store takes the cache's deadline, and a failed request's error carries no cached value", async () => {
  const redis = await RedisServer.start();
  const bridge = await UpstashBridge.start(redis.url);
  const port = freePort();
  // A front that answers reads in 1.3 s (past the store's own 1 s default), and refuses writes of a secret.
  const front = Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    const body = await request.text();
    if (body.includes("card-4111")) return Response.json({ error: "ERR busy" }, { status: 500 });
    if (body.includes("slow:") && /mget/i.test(body)) await new Promise((r) => setTimeout(r, 1300));
    const url = new URL(request.url);
    const upstream = await fetch(bridge.url + url.pathname, {
      method: "POST",
      headers: request.headers,
      body,
    });
    return new Response(await upstream.text(), { status: upstream.status });
  });
  try {
    const logger = new RecordingLogger();
    const { createCache } = await import("../mod.ts");
    const cache = await createCache({
      url: `http://127.0.0.1:${port}`,
      token: bridge.token,
      deadlineMs: 3000,
      errorLogIntervalMs: 1,
      logger,
    });
    const errors: string[] = [];
    cache.on("error", (event) => void errors.push(String((event as { error?: Error }).error?.message)));
    let loads = 0;
    await cache.getOrSet("slow:1", () => ++loads, { ttl: 60 });
    assert.equal(
      await cache.getOrSet("slow:1", () => ++loads, { ttl: 60 }),
      1,
      "a hit through the 1.3 s front",
    );
    assert.equal(loads, 1);
    await cache.getOrSet("card", () => ({ card: "card-4111-1111", big: "x".repeat(10_000) }), { ttl: 60 });
    const lines = logger.lines.map((l) => l.message);
    assert.ok(lines.some((l) => l.includes("ERR busy")), `the failure was logged: ${lines.join(" | ")}`);
    assert.ok(errors.length > 0, "and emitted");
    assert.ok(![...lines, ...errors].some((l) => l.includes("card-4111")), "without the value");
    await cache.close();
  } finally {
    await front.shutdown();
    await bridge.stop();
    await redis.stop();
  }
});
