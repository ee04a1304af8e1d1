/**
 * The Redis connection against real redis-servers behind a TCP proxy: a half-open socket (bytes swallowed,
 * socket open) is abandoned and reopened, and every wait of a caller on Redis (opening a cache, a call,
 * closing) is bounded by `deadlineMs`, with Redis down, a wrong password, or a server that answers one byte
 * per second.
 */
import assert from "node:assert/strict";
import { createCache } from "../mod.ts";
import { twoLevel } from "../src/l1/mod.ts";
import { redisStore } from "../adapters/redis.ts"; // loaded up front: no deadline covers loading code
import { freePort, redisCli, RedisCluster, RedisServer } from "./_servers.ts";
import { type Direction, TcpProxy } from "./_proxy.ts";
import { RecordingLogger } from "./_helpers.ts";

const test = (name: string, fn: () => Promise<void> | void) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

const DEADLINE_MS = 200;
/** Scheduling slack of a shared 2-core machine running tests in parallel. */
const SLACK_MS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Milliseconds `work` took. */
async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** A read that must give the new value ("v2"), never the one an invalidation replaced. */
const readNew = (get: () => Promise<string>) => async () => {
  assert.equal(await get(), "v2", "never the invalidated value");
};

/** Reads the new value every 20 ms for `ms`. */
async function readNewFor(get: () => Promise<string>, ms: number): Promise<void> {
  for (const until = performance.now() + ms; performance.now() < until;) {
    await readNew(get)();
    await sleep(20);
  }
}

/**
 * Heals `proxy`, then reads every 10 ms until a read is a hit (`read` did not load) once `landed()`; resolves
 * with the milliseconds that took (`Infinity`: not within 3 s).
 */
async function healedUntilHit(
  proxy: TcpProxy,
  read: () => Promise<unknown>,
  loads: () => number,
  landed = () => true,
): Promise<number> {
  proxy.heal();
  const healed = performance.now();
  while (performance.now() - healed < 3000) {
    const before = loads();
    await read();
    if (loads() === before && landed()) return performance.now() - healed;
    await sleep(10);
  }
  return Infinity;
}

/**
 * The established connection goes half-open (swallowing `direction`); so do new ones for `outageMs`, after which
 * the path works again (0: a NAT or firewall that forgot the connection, the path never broke).
 */
async function halfOpenCase(direction: Direction, outageMs: number) {
  const server = await RedisServer.start();
  const proxy = new TcpProxy(server.port);
  const cache = await createCache({
    url: `redis://127.0.0.1:${proxy.port}`,
    prefix: `half${crypto.randomUUID().slice(0, 8)}`,
    deadlineMs: DEADLINE_MS,
    logger: new RecordingLogger(),
  });
  try {
    let value = "v1";
    let loads = 0;
    const get = () => cache.getOrSet("u:1", () => (loads++, value), { ttl: 60, tags: ["user:1"] });
    assert.equal(await get(), "v1");
    assert.equal(await get(), "v1");
    assert.equal(loads, 1, "a hit from Redis before the fault");
    // Invalidations have a connection of their own (WAIT blocks it): opened now, it goes half-open too.
    assert.ok((await cache.invalidateTags(["other"])).delivered);

    proxy.halfOpen(direction);
    if (outageMs === 0) proxy.heal();
    value = "v2";
    const { delivered, landed } = await cache.invalidateTags(["user:1"]);
    assert.equal(delivered, false, "the invalidation is queued: its DEL got no answer");
    let landedAt = Infinity;
    landed.then(() => landedAt = performance.now());
    await readNewFor(get, outageMs);
    if (outageMs > 0) assert.equal(landedAt, Infinity, "nothing landed while every path swallowed");

    const healed = performance.now();
    const hitAfter = await healedUntilHit(proxy, readNew(get), () => loads, () => landedAt !== Infinity);
    const bound = DEADLINE_MS + 500;
    assert.ok(
      landedAt - healed <= bound,
      `the invalidation landed ${(landedAt - healed).toFixed(0)} ms after`,
    );
    assert.ok(hitAfter <= bound, `hits resumed ${hitAfter.toFixed(0)} ms after`);
    const direct = await createCache({ url: server.url, prefix: cache.keyPrefix.split(":")[0] });
    assert.equal(
      await direct.getOrSet("u:1", () => "loaded", { ttl: 60, tags: ["user:1"] }),
      "v2",
      "Redis holds the new entry",
    );
    await direct.close();
  } finally {
    await cache.close();
    proxy.close();
    await server.stop();
  }
}

for (const direction of ["both", "up", "down"] as Direction[]) {
  test(`redis connection: a half-open socket (swallowing ${direction}, every path for 1 s) is abandoned - a queued invalidation lands and hits resume within deadlineMs + 500 ms of the path working, no stale read meanwhile`, () =>
    halfOpenCase(direction, 1000));
}

test("redis connection: a socket a NAT forgot (half-open while the path works) is abandoned within deadlineMs + 500 ms, no stale read meanwhile", () =>
  halfOpenCase("both", 0));

test("redis connection: a reconnection whose handshake never completes is abandoned too (the socket closed while a call was out, and the new one is half-open)", async () => {
  const server = await RedisServer.start();
  const proxy = new TcpProxy(server.port);
  const cache = await createCache({
    url: `redis://127.0.0.1:${proxy.port}`,
    prefix: `recon${crypto.randomUUID().slice(0, 8)}`,
    deadlineMs: DEADLINE_MS,
    logger: new RecordingLogger(),
  });
  try {
    let loads = 0;
    const get = () => cache.getOrSet("k", () => ++loads, { ttl: 60 });
    await get();
    assert.equal(await get(), 1, "a hit before the fault");
    proxy.halfOpen("both");
    const out = get(); // out on the socket when it closes: node-redis reconnects by itself
    await sleep(20);
    proxy.cut();
    proxy.restore(); // new connections are accepted, and swallow
    await out;
    for (const until = performance.now() + 1000; performance.now() < until;) {
      await get();
      await sleep(20);
    }
    const hitAfter = await healedUntilHit(proxy, get, () => loads);
    assert.ok(hitAfter <= DEADLINE_MS + 500, `hits resumed ${hitAfter.toFixed(0)} ms after`);
  } finally {
    await cache.close();
    proxy.close();
    await server.stop();
  }
});

/**
 * On a Redis Cluster, one master's connections go half-open (swallowing both ways); new ones do too for
 * `outageMs`. The master announces the proxy's port, so clients reach it through the proxy; the cluster bus is
 * direct, so the cluster stays healthy, and the other masters keep answering (which must not vouch for it).
 */
async function clusterHalfOpenCase(outageMs: number) {
  const cluster = await RedisCluster.start();
  const node = cluster.nodes[0];
  const proxy = new TcpProxy(node.port);
  try {
    await redisCli(node.port, "config", "set", "cluster-announce-bus-port", String(node.port + 10000));
    await redisCli(node.port, "config", "set", "cluster-announce-port", String(proxy.port));
    const announced = `127.0.0.1:${proxy.port}@`;
    for (let i = 0; i < 400; i++) {
      const views = await Promise.all(cluster.nodes.map((n) => redisCli(n.port, "cluster", "nodes")));
      if (views.every((view) => view.includes(announced))) break;
      await sleep(25);
    }
    // A hash tag on the proxied master, and one on another.
    const slots = (await redisCli(node.port, "cluster", "nodes")).split("\n").find((line) =>
      line.includes("myself")
    )!
      .split(" ").slice(8).map((range) => range.split("-").map(Number));
    const onNode = async (key: string) => {
      const at = Number(await redisCli(node.port, "cluster", "keyslot", key));
      return slots.some(([from, to = from]) => from <= at && at <= to);
    };
    let mine = 0;
    while (!(await onNode(`{${mine}}`))) mine++;
    let theirs = 0;
    while (await onNode(`{${theirs}}`)) theirs++;
    // Every read also reads the namespace's generation key: it lives on another master.
    let prefix;
    do prefix = `chalf${crypto.randomUUID().slice(0, 6)}`; while (await onNode(`${prefix}:v1:g`));
    const cache = await createCache({
      url: `redis://127.0.0.1:${cluster.nodes[1].port},127.0.0.1:${cluster.nodes[2].port}`,
      prefix,
      deadlineMs: DEADLINE_MS,
      logger: new RecordingLogger(),
    });
    try {
      let value = "v1";
      let loads = 0;
      let otherLoads = 0;
      const key = `item:{${mine}}`;
      const get = () => cache.getOrSet(key, () => (loads++, value), { ttl: 60, tags: [key] });
      const getOther = () => cache.getOrSet(`item:{${theirs}}`, () => ++otherLoads, { ttl: 60 });
      await getOther();
      // Another master's reads go on throughout, concurrently: they must not wait for this one.
      let reading = true;
      const otherReads = (async () => {
        while (reading) await Promise.all([getOther(), sleep(5)]);
      })();
      assert.equal(await get(), "v1");
      assert.equal(await get(), "v1");
      assert.equal(loads, 1, "a hit from the proxied master before the fault");
      assert.equal(proxy.accepted > 0, true, "the proxied master is reached through the proxy");

      proxy.halfOpen("both");
      if (outageMs === 0) proxy.heal();
      value = "v2";
      const { landed } = await cache.invalidateTags([key]);
      let landedAt = Infinity;
      landed.then(() => landedAt = performance.now());
      await readNewFor(get, outageMs);
      const healed = performance.now();
      const hitAfter = await healedUntilHit(proxy, readNew(get), () => loads, () => landedAt !== Infinity);
      reading = false;
      await otherReads;
      const bound = DEADLINE_MS + 500;
      console.log(
        `landed ${(landedAt - healed).toFixed(0)} ms, hits resumed ${hitAfter.toFixed(0)} ms after`,
      );
      assert.ok(
        landedAt - healed <= bound,
        `the invalidation landed ${(landedAt - healed).toFixed(0)} ms after`,
      );
      assert.ok(hitAfter <= bound, `hits resumed ${hitAfter.toFixed(0)} ms after`);
      // A miss or two may be a loaded machine's stall; waiting for the dropped master made nearly every read one.
      assert.ok(
        otherLoads <= 3,
        `the other master served hits throughout, none waiting for this one: ${otherLoads}`,
      );
    } finally {
      await cache.close();
    }
  } finally {
    proxy.close();
    await cluster.stop();
  }
}

test("redis connection: on a Cluster, a master's socket a NAT forgot is abandoned within deadlineMs + 500 ms while the other masters answer, no stale read meanwhile", () =>
  clusterHalfOpenCase(0));

test("redis connection: on a Cluster, a master's half-open socket (every path swallowing for 1 s) is abandoned, and so is its reconnection's handshake - hits resume within deadlineMs + 500 ms of the path working", () =>
  clusterHalfOpenCase(1000));

test("redis connection: invalidations land on a far server (each round trip 110 ms of a 300 ms deadline): the link counts replies, not its whole opening", async () => {
  const server = await RedisServer.start();
  const proxy = new TcpProxy(server.port);
  const cache = await createCache({
    url: `redis://127.0.0.1:${proxy.port}`,
    prefix: `far${crypto.randomUUID().slice(0, 8)}`,
    deadlineMs: 300,
    logger: new RecordingLogger(),
  });
  try {
    await cache.set("k", 1, { tags: ["t"] });
    proxy.delayMs = 110; // opening the link takes three round trips: more than the deadline in all
    const outcomes: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const { delivered, landed } = await cache.invalidateTags(["t"]);
      outcomes.push(delivered);
      const inTime = await Promise.race([landed.then(() => true), sleep(3000).then(() => false)]);
      assert.ok(inTime, `invalidation ${i} landed (${outcomes})`);
    }
    assert.equal(
      outcomes.at(-1),
      true,
      `once the link is open, each is delivered within its call (${outcomes})`,
    );
    assert.equal(proxy.accepted, 2, "one link opened beside the cache's connection, both kept");
  } finally {
    await cache.close();
    proxy.close();
    await server.stop();
  }
});

test("redis connection: a slow server that answers within the deadline keeps its connection", async () => {
  const server = await RedisServer.start();
  const proxy = new TcpProxy(server.port);
  const cache = await createCache({
    url: `redis://127.0.0.1:${proxy.port}`,
    prefix: "slow",
    deadlineMs: 500,
    logger: new RecordingLogger(),
  });
  try {
    let loads = 0;
    const get = () => cache.getOrSet("k", () => ++loads, { ttl: 60 });
    await get();
    proxy.delayMs = 250; // each request waits that long: one call at a time, silent for half the deadline
    let hits = 0;
    for (const until = performance.now() + 2000; performance.now() < until;) if (await get() === 1) hits++;
    assert.equal(loads, 1, "every read was a hit from Redis");
    assert.ok(hits >= 3, `${hits} slow hits`);
    assert.equal(proxy.accepted, 1, "one connection all along");
  } finally {
    await cache.close();
    proxy.close();
    await server.stop();
  }
});

test("redis connection: with Redis down, createCache returns within deadlineMs and says why", async () => {
  const logger = new RecordingLogger();
  let cache: Awaited<ReturnType<typeof createCache>> | undefined;
  const ms = await timed(async () =>
    cache = await createCache({ url: `redis://127.0.0.1:${freePort()}`, deadlineMs: DEADLINE_MS, logger })
  );
  await cache!.close();
  assert.ok(ms <= DEADLINE_MS + SLACK_MS, `createCache took ${ms.toFixed(0)} ms`);
  assert.match(logger.at("warn")[0], /cannot be reached at start-up/);
});

test("redis connection: with a wrong password, createCache returns within deadlineMs, named an authentication failure", async () => {
  const server = await RedisServer.start(["--requirepass", "pw"]);
  const logger = new RecordingLogger();
  try {
    let cache: Awaited<ReturnType<typeof createCache>> | undefined;
    const ms = await timed(async () =>
      cache = await createCache({
        url: `redis://:wrong@127.0.0.1:${server.port}`,
        deadlineMs: DEADLINE_MS,
        logger,
      })
    );
    await cache!.close();
    assert.ok(ms <= DEADLINE_MS + SLACK_MS, `createCache took ${ms.toFixed(0)} ms`);
    assert.match(logger.at("warn")[0], /cannot be reached at start-up: authentication failed \(WRONGPASS/);
  } finally {
    await server.stop();
  }
});

test("redis connection: a server answering one byte per second - opening and closing the cache each take at most deadlineMs", async () => {
  const server = await RedisServer.start();
  const proxy = new TcpProxy(server.port);
  try {
    proxy.dripMs = 1000;
    for (const l1 of [false, true]) { // L1 subscribes on a connection of its own
      let slow: Awaited<ReturnType<typeof createCache>> | undefined;
      const accepted = proxy.accepted;
      const opening = await timed(async () =>
        slow = await createCache({
          url: `redis://127.0.0.1:${proxy.port}`,
          deadlineMs: DEADLINE_MS,
          l1: l1 ? twoLevel() : undefined,
          logger: new RecordingLogger(),
        })
      );
      assert.ok(proxy.accepted >= accepted + (l1 ? 2 : 1), "the cache did connect to the proxy");
      assert.ok(opening <= DEADLINE_MS + SLACK_MS, `createCache (l1: ${l1}) took ${opening.toFixed(0)} ms`);
      const closingSlow = await timed(() => slow!.close());
      assert.ok(closingSlow <= DEADLINE_MS + SLACK_MS, `close (l1: ${l1}) took ${closingSlow.toFixed(0)} ms`);
    }

    // Connected while the server answered at full speed, then a call out when it slowed down.
    proxy.dripMs = 0;
    const cache = await createCache({
      url: `redis://127.0.0.1:${proxy.port}`,
      deadlineMs: DEADLINE_MS,
      logger: new RecordingLogger(),
    });
    let loads = 0;
    await cache.getOrSet("k", () => ++loads, { ttl: 60 });
    assert.equal(await cache.getOrSet("k", () => ++loads, { ttl: 60 }), 1, "a hit at full speed");
    proxy.dripMs = 1000;
    assert.equal(
      await cache.getOrSet("k", () => ++loads, { ttl: 60 }),
      2,
      "the slow hit gave way to the loader",
    );
    assert.equal((await cache.invalidateTags(["t"])).delivered, false, "an invalidation queued");
    let left: Awaited<ReturnType<typeof cache.close>> | undefined;
    const closing = await timed(async () => left = await cache.close());
    assert.equal(left!.keys.length, 1, "reported as not delivered");
    assert.ok(closing <= DEADLINE_MS + SLACK_MS, `close took ${closing.toFixed(0)} ms`);
  } finally {
    proxy.close();
    await server.stop();
  }
});

test("redis connection: connectTimeoutMs must be a positive number, and a misspelt option names the right one", () => {
  for (const bad of [0, -1, Number.NaN, Infinity]) {
    assert.throws(
      () => redisStore("redis://127.0.0.1:1", { connectTimeoutMs: bad }),
      (e: Error) => e instanceof RangeError && /connectTimeoutMs must be a positive number/.test(e.message),
    );
  }
  assert.throws(
    () => redisStore("redis://127.0.0.1:1", { connectTimeout: 100 } as never),
    (e: Error) => e instanceof TypeError && /did you mean "connectTimeoutMs"\?/.test(e.message),
  );
});
