/**
 * Stampedes across processes: several real processes, one real Redis (or the Upstash bridge over it), one
 * cold key; with the lock the cluster loads it once. And a lock holder killed mid-load blocks the others
 * only for the lock's ttl.
 */
import assert from "node:assert/strict";
import { cacheRead, closeCache, getMetrics, initCache, resetMetrics } from "../mod.ts";
import { RedisServer, UpstashBridge } from "./_servers.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

function worker(env: Record<string, string>) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tests/fixtures/stampede_worker.ts"],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

async function report(child: Deno.ChildProcess): Promise<{ loads: number; values: string[]; ms: number }> {
  const out = new TextDecoder().decode((await child.output()).stdout);
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

async function stampede(url: string, token: string, processes: number) {
  const common = { URL: url, TOKEN: token, PREFIX: `st${crypto.randomUUID().slice(0, 8)}`, CALLERS: "250" };
  const goAt = String(Date.now() + 2500); // all processes started and connected, then they fire together
  const reports = await Promise.all(
    Array.from({ length: processes }, () => report(worker({ ...common, GO_AT: goAt }))),
  );
  const loads = reports.reduce((n, r) => n + r.loads, 0);
  const values = new Set(reports.flatMap((r) => r.values));
  return { loads, values, detail: JSON.stringify(reports) };
}

test("stampede: 4 processes × 250 callers on one real Redis load the key once", async () => {
  const server = await RedisServer.start();
  try {
    const { loads, values, detail } = await stampede(server.url, "", 4);
    assert.equal(loads, 1, detail);
    assert.equal(values.size, 1, "every caller got the one loaded value");
  } finally {
    await server.stop();
  }
});

test("stampede: 2 processes on the Upstash bridge load the key once", async () => {
  const server = await RedisServer.start();
  const bridge = await UpstashBridge.start(server.url);
  try {
    const { loads, values, detail } = await stampede(bridge.url, bridge.token, 2);
    assert.equal(loads, 1, detail);
    assert.equal(values.size, 1);
  } finally {
    await bridge.stop();
    await server.stop();
  }
});

test("stampede: a lock holder killed mid-load blocks the others for the lock's ttl, not forever", async () => {
  const server = await RedisServer.start();
  const prefix = `crash${crypto.randomUUID().slice(0, 8)}`;
  const holder = worker({
    URL: server.url,
    PREFIX: prefix,
    CALLERS: "1",
    HANG: "1",
    LOCK_TTL_MS: "2000", // long enough to outlast this test's own start-up on a busy machine
    GO_AT: "0",
  });
  try {
    const reader = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
    while (!(await reader.read()).value?.includes("LOADING")) { /* wait until it holds the lock */ }
    holder.kill("SIGKILL");
    await holder.status;
    await initCache({ url: server.url, prefix, lock: { ttlMs: 2000, pollMs: 20 } });
    resetMetrics();
    let loads = 0;
    const get = cacheRead({ key: "stampede", ttl: 60 }, () => (loads++, "after the crash"));
    const t0 = performance.now();
    assert.equal(await get(), "after the crash");
    const waited = performance.now() - t0;
    assert.equal(loads, 1);
    assert.ok(waited < 5000, `waited ${waited.toFixed(0)} ms`);
    assert.equal(getMetrics()["cache.lock.wait"], 1);
  } finally {
    await closeCache();
    await server.stop();
  }
});
