/**
 * The two-level cache against real servers: requests counted at Redis, the staleness bound attacked by a
 * writer instance invalidating while reader instances hit, local invalidations, a load that loses to one, and
 * the store going away.
 */
import assert from "node:assert/strict";
import { type Cache, type CacheOptions, createCache, type LoaderContext } from "../mod.ts";
import { twoLevel } from "../src/l1/mod.ts";
import { otel } from "../src/telemetry/mod.ts";
import { redisCli, RedisCluster, RedisServer, UpstashBridge } from "./_servers.ts";
import { denoKvStore } from "../adapters/deno_kv.ts";
import { redisStore } from "../adapters/redis.ts";
import { TcpProxy } from "./_proxy.ts";
import { RecordingLogger } from "./_helpers.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const commands = (counts: Record<string, number>) =>
  Object.fromEntries(Object.entries(counts).filter(([c]) => c !== "config|resetstat" && c !== "info"));

/** Runs `fn` with a cache (these options) on a redis-server of its own; closes both after. */
async function onRedis(options: CacheOptions, fn: (cache: Cache, server: RedisServer) => Promise<void>) {
  const server = await RedisServer.start();
  const cache = await createCache({ url: server.url, logger: quiet, ...options });
  try {
    await fn(cache, server);
  } finally {
    await cache.close();
    await server.stop();
  }
}

test("l1: hits younger than maxStaleMs send nothing; due ones share one heads-only validation per tick", async () => {
  await onRedis({ prefix: "l1a", l1: twoLevel({ maxStaleMs: 300 }) }, async (cache, server) => {
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    let loads = 0;
    const read = (key: string) => cache.getOrSet(key, () => ({ key, n: ++loads }), { ttl: 60, tags: [key] });
    await Promise.all(keys.map(read));
    await server.resetStats();
    for (let i = 0; i < 50; i++) for (const key of keys) await read(key);
    assert.deepEqual(commands(await server.commandCounts()), {}, "L1 hits send no request");
    await sleep(350);
    const values = await Promise.all(keys.map(read));
    assert.deepEqual(values.map((v) => v.key), keys);
    assert.equal(loads, 10);
    const counts = commands(await server.commandCounts());
    // The heads script (its GETRANGEs are counted too), no MGET: values do not travel.
    assert.deepEqual(Object.keys(counts).sort(), ["eval", "getrange"], JSON.stringify(counts));
    assert.equal(counts.eval, 1, "one validation request for the ten due entries");
    assert.equal(counts.getrange, 21, "ten entries, their tags and the namespace generation");
    const metrics = cache.metrics();
    assert.equal(metrics["cache.l1.hit"], 510);
    assert.equal(metrics["cache.l1.validate"], 10);
    assert.equal(metrics["cache.hit"], 510, "cache.hit still counts every hit");
  });
});

/**
 * One writer instance bumps versions and invalidates (tag or entry, at random) while reader instances with L1
 * hit the same keys; each read is checked against the writes acknowledged more than `maxStaleMs` before it
 * started (and against this instance's own invalidations, which apply at once).
 */
async function attackBound(open: (prefix: string, l1: boolean) => Promise<Cache>, maxStaleMs: number) {
  const prefix = `bound${crypto.randomUUID().slice(0, 8)}`;
  const writer = await open(prefix, false);
  const readers = [await open(prefix, true), await open(prefix, true)];
  const db = new Map<number, number>();
  const acks: { k: number; version: number; at: number }[] = [];
  let violations = 0, withinBound = 0, reads = 0;
  const worst: string[] = [];
  const load = (k: number) => () => db.get(k) ?? 0;
  const read = (cache: Cache, k: number) =>
    cache.getOrSet(`item:${k}`, load(k), { ttl: 60, tags: [`item:${k}`] });
  try {
    const until = performance.now() + 2000;
    const writing = (async () => {
      while (performance.now() < until) {
        const k = Math.floor(Math.random() * 5);
        const version = (db.get(k) ?? 0) + 1;
        db.set(k, version);
        const result = Math.random() < 0.5
          ? await writer.invalidateTags([`item:${k}`])
          : await writer.delete(`item:${k}`);
        assert.ok(result.delivered);
        acks.push({ k, version, at: Date.now() });
        await sleep(5);
      }
    })();
    const reading = readers.flatMap((cache) =>
      Array.from({ length: 4 }, async () => {
        while (performance.now() < until) {
          const k = Math.floor(Math.random() * 5);
          const started = Date.now();
          const bound = Math.max(
            0,
            ...acks.filter((a) => a.k === k && a.at < started - maxStaleMs).map((a) => a.version),
          );
          const latest = Math.max(0, ...acks.filter((a) => a.k === k).map((a) => a.version));
          const value = await read(cache, k);
          reads++;
          if (value < bound) {
            violations++;
            if (worst.length < 5) worst.push(`item ${k}: read ${value}, acknowledged ${bound}`);
          } else if (value < latest) withinBound++;
          await sleep(0); // L1 hits settle at once: let the writer's timers run
        }
      })
    );
    await Promise.all([writing, ...reading]);
    const l1Hits = readers.reduce((n, c) => n + c.metrics()["cache.l1.hit"], 0);
    console.log(
      `${reads} reads, ${acks.length} invalidations, ${l1Hits} L1 hits, ${withinBound} older values within the bound, ${violations} past it`,
    );
    assert.equal(violations, 0, worst.join("; "));
    assert.ok(reads > 500 && acks.length > 50, "the attack really ran");
    assert.ok(l1Hits > reads / 4, "L1 served a real share of the reads");
  } finally {
    await Promise.all([writer, ...readers].map((c) => c.close()));
  }
}

test("l1: after a pause past the bound, reading many entries in turn validates them in batches", async () => {
  await onRedis({ prefix: "l1sweep", l1: twoLevel({ maxStaleMs: 200 }) }, async (cache, server) => {
    const ids = Array.from({ length: 600 }, (_, i) => i);
    const read = (id: number) => cache.getOrSet(`e${id}`, () => id, { ttl: 60, tags: [`t${id}`] });
    for (const id of ids) await read(id);
    await sleep(250); // every entry is due
    await server.resetStats();
    for (const id of ids) assert.equal(await read(id), id);
    const counts = commands(await server.commandCounts());
    // One request per entry found due, carrying the oldest others (256 at most) along: three or four here.
    assert.ok(counts.eval <= 8, `${counts.eval} validation requests for 600 due entries`);
    assert.equal(counts.mget ?? 0, 0, "no entry went back to the store");
    assert.equal(cache.metrics()["cache.l1.hit"], 600);
  });
});

test("l1: an entry hit steadily is revalidated in the background, so no hit waits for the store", async () => {
  const server = await RedisServer.start();
  const proxy = new TcpProxy(server.port);
  const url = `redis://127.0.0.1:${proxy.port}`;
  const cache = await createCache({
    url,
    prefix: "l1early",
    l1: twoLevel({ maxStaleMs: 400 }),
    logger: quiet,
  });
  try {
    const read = () => cache.getOrSet("s", () => "v", { ttl: 60, tags: ["s"] });
    await read();
    proxy.delayMs = 40; // every request now takes 40 ms or more
    let slowest = 0;
    // How late the event loop ran meanwhile (a loaded machine), so that a stall is not taken for a wait.
    let lag = 0, tick = performance.now();
    const lagTimer = setInterval(() => {
      const now = performance.now();
      lag = Math.max(lag, now - tick - 5);
      tick = now;
    }, 5);
    const until = performance.now() + 1600; // four bounds
    try {
      while (performance.now() < until) {
        const started = performance.now();
        assert.equal(await read(), "v");
        slowest = Math.max(slowest, performance.now() - started);
        await sleep(10);
      }
    } finally {
      clearInterval(lagTimer);
    }
    const metrics = cache.metrics();
    assert.ok(metrics["cache.l1.validate"] >= 3, `revalidated ${metrics["cache.l1.validate"]} times`);
    // A hit that waited for a validation takes the proxy's 40 ms at least.
    assert.ok(
      slowest < 30 + lag,
      `the slowest hit took ${slowest.toFixed(1)} ms (the event loop ran up to ${
        lag.toFixed(1)
      } ms late): it waited for a validation`,
    );
  } finally {
    await cache.close();
    proxy.close();
    await server.stop();
  }
});

test("l1 on redis: no read returns a value invalidated elsewhere more than maxStaleMs before it began", async () => {
  const server = await RedisServer.start();
  try {
    await attackBound(
      (prefix, l1) =>
        createCache({
          url: server.url,
          prefix,
          l1: l1 ? twoLevel({ maxStaleMs: 100 }) : undefined,
          logger: quiet,
        }),
      100,
    );
  } finally {
    await server.stop();
  }
});

test("l1 on upstash: the same bound, validations through the REST pipeline", async () => {
  const server = await RedisServer.start();
  const bridge = await UpstashBridge.start(server.url);
  try {
    await attackBound(
      (prefix, l1) =>
        createCache({
          url: bridge.url,
          token: bridge.token,
          prefix,
          l1: l1 ? twoLevel({ maxStaleMs: 100 }) : undefined,
          logger: quiet,
        }),
      100,
    );
  } finally {
    await bridge.stop();
    await server.stop();
  }
});

test("l1 on deno kv: the same bound, two instances on one database file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await attackBound(
      (prefix, l1) =>
        createCache({
          url: `denokv:${dir}/kv.sqlite`,
          prefix,
          l1: l1 ? twoLevel({ maxStaleMs: 100 }) : undefined,
          logger: quiet,
        }),
      100,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("l1: invalidations made here apply at once; a load overtaken by one is not kept", async () => {
  await onRedis({ prefix: "l1c", l1: twoLevel({ maxStaleMs: 60_000 }) }, async (cache) => {
    let version = 1;
    const read = () => cache.getOrSet("a", () => version, { ttl: 60, tags: ["t"] });
    assert.equal(await read(), 1);
    version = 2;
    await cache.invalidateTags(["t"]);
    assert.equal(await read(), 2, "tag invalidation");
    version = 3;
    await cache.delete("a");
    assert.equal(await read(), 3, "entry deletion");
    // A slow load that an invalidation overtakes: its value reaches its caller, but neither tier keeps it.
    let release!: () => void;
    const gate = new Promise<void>((r) => release = r);
    await cache.delete("b");
    const slow = cache.getOrSet("b", async () => (await gate, "old"), { ttl: 60, tags: ["u"] });
    await sleep(50);
    await cache.invalidateTags(["u"]);
    release();
    assert.equal(await slow, "old");
    assert.equal(await cache.getOrSet("b", () => "new", { ttl: 60, tags: ["u"] }), "new");
  });
});

test("l1: a cached function's hot keys, served from the slot they were found in, still see every local change", async () => {
  // maxEntries 2: the third key evicts one, so remembered slots go stale by eviction as well as by invalidation.
  await onRedis({ prefix: "l1s", l1: twoLevel({ maxEntries: 2, maxStaleMs: 60_000 }) }, async (cache) => {
    const versions = new Map<number, number>();
    const loads: number[] = [];
    const user = cache.cacheRead({ key: "u:{id}", tags: ["u:{id}"], ttl: 60 }, ({ id }: { id: number }) => {
      loads.push(id);
      return { id, v: versions.get(id) ?? 1 };
    });
    for (let round = 0; round < 3; round++) assert.deepEqual(await user({ id: 1 }), { id: 1, v: 1 });
    assert.deepEqual(loads, [1]);
    versions.set(1, 2);
    await cache.invalidateTags(["u:1"]);
    assert.deepEqual(await user({ id: 1 }), { id: 1, v: 2 }, "tag invalidated here");
    versions.set(1, 3);
    await user.invalidate({ id: 1 });
    assert.deepEqual(await user({ id: 1 }), { id: 1, v: 3 }, "entry invalidated here");
    await cache.set("u:1", { id: 1, v: 4 }, { ttl: 60, tags: ["u:1"] });
    assert.deepEqual(await user({ id: 1 }), { id: 1, v: 4 }, "entry written here");
    for (const id of [2, 3, 1, 2, 3, 1]) assert.equal((await user({ id })).id, id, "after evictions");
    assert.deepEqual(loads, [1, 1, 1, 2, 3]);
  });
});
test("l1: with the store gone, the loader answers; a graced entry is served (stale) only when it fails too", async () => {
  await onRedis(
    { prefix: "l1d", l1: twoLevel({ maxStaleMs: 50 }), deadlineMs: 200 },
    async (cache, server) => {
      let loads = 0, failing = false;
      const loader = (name: string) => () => {
        if (failing) throw new Error("the source is down too");
        return `${name}${++loads}`;
      };
      const graced = () => cache.getOrSet("g", loader("g"), { ttl: 60, staleTtl: 60 });
      const plain = () => cache.getOrSet("p", loader("p"), { ttl: 60 });
      assert.equal(await graced(), "g1");
      assert.equal(await plain(), "p2");
      await server.kill();
      await sleep(80); // both are due for validation
      // The store cannot say whether they were invalidated elsewhere: the loader answers.
      assert.equal(await graced(), "g3");
      assert.equal(await plain(), "p4");
      assert.equal(cache.metrics()["cache.l1.stale"] ?? 0, 0);
      // Fail-safe: with the loader failing too, the graced entry is served rather than the error.
      failing = true;
      const before = cache.metrics();
      for (let i = 0; i < 3; i++) assert.equal(await graced(), "g1");
      await assert.rejects(plain(), /the source is down too/, "without grace the error reaches the caller");
      const after = cache.metrics();
      assert.equal(after["cache.l1.stale"], 3);
      assert.equal(after["cache.hit"] - before["cache.hit"], 3, "each fail-safe call is one (stale) hit");
      assert.equal(
        after["cache.miss"] - before["cache.miss"],
        1,
        "and no miss: only the call that failed is one",
      );
      // A loader that is only slow is not failing: past hardTimeoutMs the caller gets the timeout.
      failing = false;
      const slow = cache.getOrSet("g", () => new Promise<string>((r) => setTimeout(() => r("late"), 300)), {
        ttl: 60,
        staleTtl: 60,
        hardTimeoutMs: 100,
      });
      await assert.rejects(slow, { name: "CacheTimeoutError" });
      await sleep(300); // the slow load settles
    },
  );
});

test("l1: an invalidation acknowledged elsewhere is honoured past maxStaleMs also when the store then hangs, with staleTtl", async () => {
  await onRedis(
    { prefix: "l1h", l1: twoLevel({ maxStaleMs: 100 }), deadlineMs: 200 },
    async (cache, server) => {
      // Its invalidations are not pushed: the reader hears nothing, as when a push is lost.
      const store = redisStore(server.url);
      const writer = await createCache({
        store: { ...store, publish: undefined },
        prefix: "l1h",
        logger: quiet,
      });
      try {
        let version = 1;
        const read = () => cache.getOrSet("k", () => `v${version}`, { ttl: 60, staleTtl: 30, tags: ["t"] });
        assert.equal(await read(), "v1");
        assert.equal(await read(), "v1", "held in L1");
        version = 2;
        const { delivered } = await writer.invalidateTags(["t"]);
        assert.equal(delivered, true, "acknowledged");
        await redisCli(server.port, "CLIENT", "PAUSE", "2000", "ALL"); // the store hangs right after
        await sleep(150); // past the bound
        const started = performance.now();
        assert.equal(await read(), "v2", "not the value the acknowledged invalidation replaced");
        assert.ok(performance.now() - started >= 150, "the store did hang: the read waited for its deadline");
      } finally {
        await writer.close();
        await store.close?.();
      }
    },
  );
});

test("l1: get, has and getOrSetMany are served by L1 too, and held to the same bound", async () => {
  await onRedis({ prefix: "l1m", l1: twoLevel({ maxStaleMs: 200 }) }, async (cache, server) => {
    const other = await createCache({ url: server.url, prefix: "l1m", logger: quiet }); // no L1
    try {
      let loads = 0;
      const many = (keys: string[]) =>
        cache.getOrSetMany(keys, (missing) => missing.map((k) => `${k}${++loads}`), { ttl: 60, tags: ["m"] });
      assert.deepEqual(await many(["a", "b"]), ["a1", "b2"]);
      await server.resetStats();
      for (let i = 0; i < 20; i++) {
        assert.deepEqual(await many(["a", "b"]), ["a1", "b2"]);
        assert.equal(await cache.get("a"), "a1");
        assert.equal(await cache.has("b"), true);
      }
      assert.deepEqual(commands(await server.commandCounts()), {}, "all from L1");
      assert.equal(cache.metrics()["cache.l1.hit"], 60);
      // A miss of the batch is loaded, stored, and kept: the next batch is L1's alone.
      assert.deepEqual(await many(["a", "c"]), ["a1", "c3"]);
      await server.resetStats();
      assert.deepEqual(await many(["a", "b", "c"]), ["a1", "b2", "c3"]);
      assert.deepEqual(commands(await server.commandCounts()), {});
      // Another instance invalidates: within the bound L1 may still answer, past it never.
      await other.invalidateTags(["m"]);
      await sleep(250);
      assert.deepEqual(await many(["a", "b"]), ["a4", "b5"]);
      await other.invalidateTags(["m"]);
      await sleep(250);
      assert.equal(await cache.get("a"), undefined);
      assert.equal(await cache.has("c"), false);
      // l1: false: the batch reads the store.
      await many(["x"]);
      await server.resetStats();
      await cache.getOrSetMany(["x"], () => ["never"], { ttl: 60, tags: ["m"], l1: false });
      assert.equal((await server.commandCounts()).mget, 1);
    } finally {
      await other.close();
    }
  });
});

test("l1: debug lines tell L1 hits, store hits, pushes and failed validations apart", async () => {
  const logger = new RecordingLogger();
  await onRedis(
    { prefix: "l1dbg", l1: twoLevel({ maxStaleMs: 100 }), debug: true, logger },
    async (cache, server) => {
      const other = await createCache({ url: server.url, prefix: "l1dbg", logger: quiet });
      const lines = () => {
        const out = logger.at("debug").join("\n");
        logger.lines.length = 0;
        return out;
      };
      const until = async (pattern: RegExp) => {
        for (let i = 0; i < 100 && !pattern.test(logger.at("debug").join("\n")); i++) await sleep(10);
      };
      try {
        const read = () => cache.getOrSet("d", () => 1, { ttl: 60, tags: ["d"] });
        await read(); // loaded, kept in L1
        await other.getOrSet("d", () => 1, { ttl: 60, tags: ["d"] }); // so the store holds it too
        logger.lines.length = 0;
        await read();
        assert.match(lines(), /^\[HIT\] key=d duration_ms=[\d.]+ms ttl=60 tier=l1$/);
        await other.invalidateTags(["d"]);
        await until(/\[L1-PUSH\] keys=1/);
        assert.match(lines(), /^\[L1-PUSH\] keys=1$/);
        await read();
        assert.match(
          lines(),
          /^\[MISS\] key=d .*cause=invalidated$/m,
          "after the push, a store read and a load",
        );
        await sleep(0);
        await read();
        assert.match(lines(), /^\[HIT\] key=d .*tier=l1$/);
        // Changed behind every cache's back (no push): the validation finds the entry invalid.
        await redisCli(server.port, "del", "l1dbg:v1:t:d");
        await sleep(120);
        await read();
        assert.match(lines(), /^\[L1-INVALID\] key=e:d$/m);
      } finally {
        await other.close();
      }
    },
  );
});

test("l1: events tell L1 hits from store hits (tier), and store calls are backend events", async () => {
  await onRedis({ prefix: "l1ev", l1: twoLevel({ maxStaleMs: 60_000 }) }, async (cache) => {
    const hits: string[] = [];
    const ops: string[] = [];
    cache.on("hit", (e) => void hits.push(`${e.key}:${e.tier}`));
    cache.on("backend", (e) => void ops.push(e.operation!));
    await cache.getOrSet("a", () => 1, { ttl: 60 });
    ops.length = 0;
    await cache.getOrSet("a", () => 1, { ttl: 60 });
    assert.equal(await cache.get("a"), 1);
    assert.deepEqual(hits, ["a:l1", "a:l1"]);
    assert.equal(ops.length, 0, `L1 hits make no store call: ${ops}`);
    await cache.getOrSet("b", () => 2, { ttl: 60, l1: false });
    await cache.getOrSet("b", () => 2, { ttl: 60, l1: false });
    assert.deepEqual(hits.at(-1), "b:l2");
    assert.ok(ops.includes("read"));
  });
});

test("l1: l1: false per call keeps an entry out; options are checked", async () => {
  await onRedis({ prefix: "l1e", l1: twoLevel() }, async (cache, server) => {
    await cache.getOrSet("x", () => 1, { ttl: 60, l1: false });
    await server.resetStats();
    for (let i = 0; i < 5; i++) await cache.getOrSet("x", () => 1, { ttl: 60, l1: false });
    assert.equal((await server.commandCounts()).mget, 5);
    await assert.rejects(
      createCache({ l1: twoLevel({ maxStaleMs: -1 }) }),
      /l1.maxStaleMs must be a positive number/,
    );
    for (const option of ["maxEntries", "maxBytes"]) {
      await assert.rejects(createCache({ l1: twoLevel({ [option]: 1000.5 }) }), {
        name: "RangeError",
        message: new RegExp(`l1.${option} must be a positive integer`),
      });
    }
    await assert.rejects(
      createCache({ l1: twoLevel({ maxStale: 1 } as never) }),
      /l1: unknown option "maxStale"; did you mean "maxStaleMs"/,
    );
    await assert.rejects(createCache({ l1: "yes" as never }), TypeError);
    // The old forms name the new one.
    for (const old of [true, { maxStaleMs: 100 }]) {
      await assert.rejects(
        createCache({ l1: old as never }),
        /l1 takes the feature its entry point makes; write l1: twoLevel\(\{ maxStaleMs \}\) with twoLevel from "@svc-infra\/cache\/l1"/,
      );
    }
    await assert.rejects(createCache({ l1: twoLevel as never }), /current value is a function \(call it\)$/);
    await assert.rejects(
      createCache({ l1: otel() as never }),
      /current value is an object made for telemetry$/,
    );
  });
});

/**
 * Rounds of: `writer` invalidates the tag of an entry `reader` serves from L1 (its bound, a minute, cannot
 * do it), then `reader` is polled until it loads the new value. The delays from acknowledgement, sorted.
 */
async function pushLatencies(reader: Cache, writer: Cache, rounds: number): Promise<number[]> {
  const latencies: number[] = [];
  const first = Date.now(), key = `p${first}`;
  const read = (value: number) => reader.getOrSet(key, () => value, { ttl: 60, tags: [key] });
  await read(first - 1); // kept in L1
  for (let round = first; round < first + rounds; round++) {
    assert.equal(
      await read(round),
      round - 1,
      `round ${round - first}: served from L1 until the push arrives`,
    );
    await writer.invalidateTags([key]);
    const acknowledged = performance.now();
    while (await read(round) !== round) {
      assert.ok(performance.now() - acknowledged < 1000, `round ${round - first}: no push within 1 s`);
      await sleep(1);
    }
    latencies.push(performance.now() - acknowledged);
  }
  return latencies.sort((a, b) => a - b);
}

const percentile = (sorted: number[], p: number) => sorted[Math.ceil(sorted.length * p) - 1];

/**
 * Runs `fn` with a reader with L1 (bound: a minute, so only push refreshes it) and a writer without, each on
 * the store `where` gives.
 */
async function pushPair(
  where: () => CacheOptions | Promise<CacheOptions>,
  fn: (reader: Cache, writer: Cache) => Promise<void>,
) {
  const prefix = `push${crypto.randomUUID().slice(0, 8)}`;
  const reader = await createCache({
    ...await where(),
    prefix,
    l1: twoLevel({ maxStaleMs: 60_000 }),
    logger: quiet,
  });
  const writer = await createCache({ ...await where(), prefix, logger: quiet }); // publishes without an L1
  try {
    await fn(reader, writer);
  } finally {
    await Promise.all([reader.close(), writer.close()]);
  }
}

for (const topology of ["redis", "redis cluster"] as const) {
  test(`l1 push on ${topology}: another instance's invalidation reaches L1 long before the bound (p50 < 50 ms, each < 1 s)`, async () => {
    const server = topology === "redis" ? await RedisServer.start() : await RedisCluster.start();
    try {
      await pushPair(() => ({ url: server.url }), async (reader, writer) => {
        const latencies = await pushLatencies(reader, writer, 100);
        const [p50, p99] = [percentile(latencies, 0.5), percentile(latencies, 0.99)];
        console.log(
          `${topology}: push latency over 100 invalidations: p50 ${p50.toFixed(1)} ms, p99 ${
            p99.toFixed(1)
          } ms`,
        );
        assert.ok(p50 < 50, `p50 ${p50.toFixed(1)} ms`);
        assert.ok(reader.metrics()["cache.l1.push"] >= 100);
      });
    } finally {
      await server.stop();
    }
  });
}

/** Waits until exactly one subscriber is connected across `ports`; how long that took. */
async function resubscribed(ports: readonly number[], what: string): Promise<number> {
  const count = async () => {
    const lists = await Promise.all(ports.map((port) => redisCli(port, "client", "list", "type", "pubsub")));
    return lists.flatMap((list) => list.split("\n").filter(Boolean)).length;
  };
  const since = performance.now();
  while (await count() !== 1) {
    assert.ok(performance.now() - since < 5000, `not one subscriber 5 s after ${what}`);
    await sleep(20);
  }
  return performance.now() - since;
}

const killSubscribers = (ports: readonly number[]) =>
  Promise.all(ports.map((port) => redisCli(port, "client", "kill", "type", "pubsub")));

test("l1 push on redis: a dropped subscriber connection is reopened (CLIENT KILL, server restart)", async () => {
  const server = await RedisServer.start();
  try {
    await pushPair(() => ({ url: server.url }), async (reader, writer) => {
      await resubscribed([server.port], "the start");
      await killSubscribers([server.port]);
      const afterKill = await resubscribed([server.port], "CLIENT KILL");
      assert.ok(percentile(await pushLatencies(reader, writer, 20), 0.5) < 50, "push works again");
      await server.kill();
      await server.restart();
      const afterRestart = await resubscribed([server.port], "the restart");
      assert.ok(
        percentile(await pushLatencies(reader, writer, 20), 0.5) < 50,
        "push works after the restart",
      );
      console.log(
        `subscriber back ${afterKill.toFixed(0)} ms after CLIENT KILL, ${
          afterRestart.toFixed(0)
        } ms after restart`,
      );
      assert.ok(reader.metrics()["cache.l1.push.unavailable"] >= 2, "each drop is counted");
    });
  } finally {
    await server.stop();
  }
});

test("l1 push on redis cluster: a killed subscriber is reopened on another master", async () => {
  const cluster = await RedisCluster.start();
  const ports = cluster.nodes.map((node) => node.port);
  const subscribedAt = async () => {
    const lists = await Promise.all(ports.map((port) => redisCli(port, "client", "list", "type", "pubsub")));
    return lists.findIndex((list) => list.length > 0);
  };
  try {
    await pushPair(() => ({ url: cluster.url }), async (reader, writer) => {
      await resubscribed(ports, "the start");
      const before = await subscribedAt();
      await killSubscribers(ports);
      await resubscribed(ports, "CLIENT KILL");
      assert.notEqual(await subscribedAt(), before, "the next master");
      assert.ok(percentile(await pushLatencies(reader, writer, 20), 0.5) < 50, "push works again");
    });
  } finally {
    await cluster.stop();
  }
});

test("l1 push on deno kv: invalidations reach another instance's L1 through kv.watch (p50 < 50 ms, each < 1 s)", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/kv.sqlite`;
  try {
    // Two handles on one file, as two instances would open it; a local database notifies within one process.
    const where = async () => ({
      store: denoKvStore(await Deno.openKv(path), { closeKv: true, push: true }),
    });
    await pushPair(where, async (reader, writer) => {
      const latencies = await pushLatencies(reader, writer, 100);
      const [p50, p99] = [percentile(latencies, 0.5), percentile(latencies, 0.99)];
      console.log(
        `deno kv: push latency over 100 invalidations: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`,
      );
      assert.ok(p50 < 50, `p50 ${p50.toFixed(1)} ms`);
      assert.ok(reader.metrics()["cache.l1.push"] >= 100);
    });
    // Without `push`, nothing watches: the reader keeps its entry until the bound.
    const plain = async () => ({ store: denoKvStore(await Deno.openKv(path), { closeKv: true }) });
    await pushPair(plain, async (reader, writer) => {
      const read = () => reader.getOrSet("p", () => performance.now(), { ttl: 60, tags: ["p"] });
      const first = await read();
      await writer.invalidateTags(["p"]);
      await sleep(100);
      assert.equal(await read(), first);
      assert.equal(reader.metrics()["cache.l1.push"] ?? 0, 0);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("l1: on a Redis that stops answering, a read due for validation and a soft invalidation take one deadline", async () => {
  const server = await RedisServer.start();
  const proxy = new TcpProxy(server.port);
  const url = `redis://127.0.0.1:${proxy.port}`;
  const deadlineMs = 500;
  const cache = await createCache({
    url,
    prefix: "l1slow",
    l1: twoLevel({ maxStaleMs: 100 }),
    deadlineMs,
    breakerThreshold: 1000, // every call meets the slow store itself
    logger: quiet,
  });
  try {
    const read = () => cache.getOrSet("s", () => "v", { ttl: 60, tags: ["s"] });
    await read();
    assert.equal(await cache.get("s"), "v");
    await sleep(150); // past the bound: the next read validates first
    proxy.delayMs = 60_000; // requests reach Redis long after the client gave up
    const took: Record<string, number> = {};
    let started = performance.now();
    assert.equal(await read(), "v", "the loader's value");
    took.read = performance.now() - started;
    started = performance.now();
    assert.equal((await cache.invalidateTags(["s"], { soft: true })).delivered, false, "queued");
    took.soft = performance.now() - started;
    for (const [what, ms] of Object.entries(took)) {
      assert.ok(ms < deadlineMs * 1.5, `${what}: ${ms.toFixed(0)} ms for a ${deadlineMs} ms deadline`);
    }
    assert.ok(cache.metrics()["cache.l1.validate"] >= 1, "the read was due for validation");
  } finally {
    proxy.delayMs = 0;
    await cache.close();
    proxy.close();
    await server.stop();
  }
});

test("l1: an early refresh started by an L1 hit offers the loader the entry it replaces (ctx.stale), so notModified keeps it", async () => {
  let now = 1_000_000;
  await onRedis(
    { prefix: "l1stale", clock: { now: () => now }, l1: twoLevel({ maxStaleMs: 600_000 }) },
    async (cache) => {
      const seen: unknown[] = [];
      let loads = 0;
      const load = (ctx: LoaderContext) => {
        loads++;
        seen.push(ctx.stale?.etag);
        if (ctx.stale) return ctx.notModified();
        ctx.setEtag('"v1"');
        return { v: loads };
      };
      const options = { ttl: 60, earlyTtl: 30 };
      assert.deepEqual(await cache.getOrSet("s", load, options), { v: 1 });
      assert.deepEqual(await cache.getOrSet("s", load, options), { v: 1 });
      assert.equal(cache.metrics()["cache.l1.hit"], 1, "the second read is an L1 hit");
      now += 31_000; // past earlyTtl: the next L1 hit refreshes in the background
      assert.deepEqual(await cache.getOrSet("s", load, options), { v: 1 });
      for (let i = 0; i < 200 && loads < 2; i++) await sleep(5);
      assert.equal(loads, 2, "the hit started a refresh");
      assert.deepEqual(seen, [undefined, '"v1"'], "the refresh's loader saw the entry and its etag");
    },
  );
});
