/**
 * Real failures against a real redis-server: a network partition cut by a TCP proxy while an invalidation
 * is made, and the server killed in the middle of a load.
 */
import assert from "node:assert/strict";
import { cacheRead, closeCache, getMetrics, initCache, invalidateTags, resetMetrics } from "../mod.ts";
import { RedisServer } from "./_servers.ts";
import { TcpProxy } from "./_proxy.ts";
import { deferred, RecordingLogger } from "./_helpers.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

async function readInFreshProcess(url: string, prefix: string): Promise<string> {
  const { stdout, code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tests/fixtures/read_worker.ts"],
    env: { URL: url, PREFIX: prefix, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(code, 0);
  return JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!);
}

test("chaos: an invalidation made during a partition is honoured at once and reaches Redis after it", async () => {
  const server = await RedisServer.start();
  const proxy = new TcpProxy(server.port);
  const prefix = `part${crypto.randomUUID().slice(0, 8)}`;
  const url = `redis://127.0.0.1:${proxy.port}`;
  try {
    await initCache({
      url,
      prefix,
      deadlineMs: 200,
      breakerCooldownMs: 200,
      logger: new RecordingLogger(),
    });
    resetMetrics();
    const db = new Map([[1, "v1"]]);
    const get = cacheRead(
      { key: "u:{id}", tags: ["user:{id}"], ttl: 60 },
      ({ id }: { id: number }) => db.get(id)!,
    );
    assert.equal(await get({ id: 1 }), "v1");
    assert.equal(await get({ id: 1 }), "v1");
    assert.equal(await readInFreshProcess(server.url, prefix), "v1", "the entry is in Redis");

    proxy.cut();
    db.set(1, "v2");
    const { delivered } = await invalidateTags("user:1"); // resolves although Redis is unreachable
    assert.equal(delivered, false, "reported as queued");
    assert.equal(getMetrics()["cache.invalidate.pending"], 1);
    const errors: unknown[] = [];
    for (let i = 0; i < 20; i++) {
      const value = await get({ id: 1 }).catch((e) => (errors.push(e), "error"));
      assert.equal(value, "v2", "never the invalidated value");
    }
    assert.deepEqual(errors, [], "zero caller errors");
    assert.equal(
      await readInFreshProcess(server.url, prefix),
      "v1",
      "Redis still has the old version during the cut",
    );

    await new Promise((r) => setTimeout(r, 1000)); // retries back off to their longest interval
    proxy.restore();
    const restored = performance.now();
    while (getMetrics()["cache.invalidate.pending"] > 0 && performance.now() - restored < 2000) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const ms = performance.now() - restored;
    assert.equal(getMetrics()["cache.invalidate.pending"], 0, "landed after the recovery");
    assert.ok(ms < 500, `landed ${ms.toFixed(0)} ms after Redis was reachable again (bound: 500 ms)`);
    assert.equal(
      await readInFreshProcess(server.url, prefix),
      "loaded by a fresh process",
      "a fresh process sees the invalidation",
    );
  } finally {
    await closeCache();
    proxy.close();
    await server.stop();
  }
});

test("chaos: Redis killed in the middle of a load - the caller gets its value, the cache recovers after restart", async () => {
  const server = await RedisServer.start();
  try {
    await initCache({
      url: server.url,
      prefix: "kill",
      deadlineMs: 200,
      breakerCooldownMs: 100,
      logger: new RecordingLogger(),
    });
    const gate = deferred<void>();
    let loads = 0;
    const get = cacheRead({ key: "k", tags: ["t"], ttl: 60 }, async () => {
      loads++;
      if (loads === 1) await gate.promise;
      return `v${loads}`;
    });
    const inFlight = get();
    await new Promise((r) => setTimeout(r, 50));
    await server.kill();
    gate.resolve();
    assert.equal(await inFlight, "v1", "the load's value reaches the caller although its write fails");
    await server.restart();
    let cached = false;
    for (let i = 0; i < 80 && !cached; i++) {
      await new Promise((r) => setTimeout(r, 25));
      const before = loads;
      await get();
      await get();
      cached = loads - before <= 1;
    }
    assert.ok(cached, "hits again after the restart");
  } finally {
    await closeCache();
    await server.stop();
  }
});
