/**
 * The Worker example in Cloudflare's runtime: `wrangler dev` (workerd) on loopback, exercised over HTTP - miss,
 * hit, invalidation - with the in-memory store and with the Upstash adapter pointed at the local bridge, and
 * with the two-level cache per isolate (L1 hits send no request; another instance's invalidation is seen once
 * the bound has passed), and with entries encrypted by a key from a Worker secret.
 */
import assert from "node:assert/strict";
import { freePort, redisCli, RedisServer, UpstashBridge } from "./_servers.ts";
import { createCache } from "../mod.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

async function withWrangler(
  vars: Record<string, string>,
  fn: (base: string) => Promise<void>,
  dir = "examples/worker",
) {
  const port = freePort();
  const args = ["dev", "--port", String(port), "--ip", "127.0.0.1", "--inspector-port", String(freePort())];
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  const child = new Deno.Command(new URL("../node_modules/.bin/wrangler", import.meta.url).pathname, {
    args,
    cwd: dir,
    env: { CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
    stdout: "null",
    stderr: "null",
    detached: true, // its own process group: wrangler's server and workerd are its children
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  try {
    let up = false;
    for (let i = 0; i < 300 && !up; i++) {
      try {
        await (await fetch(`${base}/metrics`)).body?.cancel();
        up = true;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.ok(up, "wrangler dev answered");
    await fn(base);
  } finally {
    // The whole group: killing the wrapper alone left the real server running.
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch { /* already gone */ }
    await child.status;
  }
}

async function exercise(base: string) {
  const get = async () => {
    const res = await fetch(`${base}/users/123`);
    return [res.headers.get("x-cache"), (await res.json()).name];
  };
  assert.deepEqual(await get(), ["MISS", "John Doe"]);
  assert.deepEqual(await get(), ["HIT", "John Doe"]);
  const put = await fetch(`${base}/users/123`, {
    method: "PUT",
    body: JSON.stringify({ name: "From workerd" }),
  });
  assert.equal(put.status, 200);
  await put.body?.cancel();
  assert.deepEqual(await get(), ["MISS", "From workerd"]);
  assert.deepEqual(await get(), ["HIT", "From workerd"]);
}

test("workers: the Hono example in workerd (wrangler dev), in-memory store", () =>
  withWrangler({}, exercise));

test("workers: waitUntil: ctx (the README's line) keeps a stale hit's refresh and a write's recache running past the response", () =>
  withWrangler({}, async (base) => {
    const profile = async () => {
      const res = await fetch(`${base}/profiles/1`);
      assert.equal(res.status, 200, (await res.clone().text()).slice(0, 400));
      return await res.json();
    };
    const counter = async (name: string) => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return Number(text.match(new RegExp(`^${name} (\\d+)$`, "m"))?.[1] ?? 0);
    };
    const until = async (name: string, value: number) => {
      for (let i = 0; i < 100 && await counter(name) < value; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(await counter(name), value, `${name} reached ${value}`);
    };
    assert.deepEqual(await profile(), { userId: 1, name: "Ada", loads: 1, status: "miss" });
    await new Promise((r) => setTimeout(r, 1100)); // past the 1 s ttl
    // Served at once; the refresh (200 ms) runs after the response. Without waitUntil workerd drops it.
    assert.deepEqual(await profile(), { userId: 1, name: "Ada", loads: 1, status: "stale" });
    await until("cache_load_total", 2);
    const refreshed = await profile();
    assert.deepEqual({ ...refreshed, status: undefined }, {
      userId: 1,
      name: "Ada",
      loads: 2,
      status: undefined,
    });

    const put = await fetch(`${base}/profiles/1`, { method: "PUT", body: JSON.stringify({ name: "Grace" }) });
    assert.deepEqual([put.status, await put.json()], [200, { updated: 1 }]);
    await until("cache_warm_count_total", 1); // the recache, after the PUT was answered
    const recached = await profile();
    assert.deepEqual({ ...recached, status: undefined }, {
      userId: 1,
      name: "Grace",
      loads: 3,
      status: undefined,
    });
    assert.ok(["hit", "stale"].includes(recached.status), "served from the recached entry, not loaded");
    assert.equal(await counter("cache_load_total"), 3);
    assert.equal(await counter("cache_error_total"), 0);
  }));

test("workers: every form of waitUntil in workerd: ctx, bound, cloudflare:workers, and ctx.waitUntil where the cache has one of its own; a lone ctx.waitUntil is a TypeError on the first call", () =>
  withWrangler({}, async (base) => {
    const get = async (form: string) => {
      const res = await fetch(`${base}/?form=${encodeURIComponent(form)}`);
      return [res.status, await res.json()];
    };
    const loads = async (form: string) =>
      await (await fetch(`${base}/loads?form=${encodeURIComponent(form)}`)).json();
    const working = ["ctx", "bound", "cloudflare:workers", "detached+ambient", "none+ambient"];
    for (const form of working) assert.deepEqual(await get(form), [200, 1], form);
    // Refused on a miss already, with the fix: not left for the first stale hit to find.
    const [status, body] = await get("detached");
    assert.equal(status, 400);
    assert.match(
      body.error,
      /^TypeError: Cannot use waitUntil: current value is a detached host method .*waitUntil: ctx/,
    );
    assert.equal(await loads("detached"), 0);

    await new Promise((r) => setTimeout(r, 1100)); // past the 1 s ttl
    for (const form of working) assert.deepEqual(await get(form), [200, 1], `${form}: stale, served at once`);
    for (const form of working) {
      for (let i = 0; i < 100 && await loads(form) < 2; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await loads(form), 2, `${form}: the refresh ran after the response`);
      assert.deepEqual(await get(form), [200, 2], `${form}: the refreshed value is served`);
    }
  }, "tests/fixtures/wait_until_worker"));

const upstash = Deno.env.get("TEST_UPSTASH_URL"), token = Deno.env.get("TEST_UPSTASH_TOKEN");
if (upstash && token) {
  test("workers: the Hono example in workerd with the Upstash adapter on the local bridge", () =>
    withWrangler({ CACHE_URL: upstash, CACHE_TOKEN: token, CACHE_PREFIX: `wk${Date.now()}` }, exercise));
}

test("workers: with l1 per isolate on Upstash, hits send no request and another instance's invalidation is seen past the bound", async () => {
  const server = await RedisServer.start();
  const bridge = await UpstashBridge.start(server.url); // its own: the request count is this test's alone
  const prefix = `wkl1${Date.now()}`;
  const vars = { CACHE_URL: bridge.url, CACHE_TOKEN: bridge.token, CACHE_PREFIX: prefix };
  const other = await createCache({ url: bridge.url, token: bridge.token, prefix });
  try {
    // A bound ten local requests cannot outlast even on a busy machine: within it, hits send nothing.
    await withWrangler({ ...vars, CACHE_L1_MAX_STALE_MS: "2000" }, async (base) => {
      const get = async () =>
        (await fetch(`${base}/users/123`).then((r) => (r.body?.cancel(), r))).headers.get("x-cache");
      assert.equal(await get(), "MISS");
      assert.equal(await get(), "HIT");
      const before = await bridge.requests();
      for (let i = 0; i < 10; i++) assert.equal(await get(), "HIT");
      assert.equal(await bridge.requests() - before, 0, "ten L1 hits, no Upstash request");
      await other.invalidateTags(["user:123"]);
      await new Promise((r) => setTimeout(r, 2050));
      assert.equal(await get(), "MISS", "past the bound the invalidation is seen");
    });
  } finally {
    await other.close();
    await bridge.stop();
    await server.stop();
  }
});

test("workers: encrypted entries from a Worker secret (CACHE_ENCRYPTION_KEYS): Upstash holds no plaintext", async () => {
  const server = await RedisServer.start();
  const bridge = await UpstashBridge.start(server.url);
  const prefix = `wkenc${Date.now()}`;
  const key = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0"));
  try {
    await withWrangler(
      {
        CACHE_URL: bridge.url,
        CACHE_TOKEN: bridge.token,
        CACHE_PREFIX: prefix,
        CACHE_ENCRYPTION_KEYS: key.join(""),
      },
      exercise,
    );
    const keys = (await redisCli(server.port, "KEYS", `${prefix}:*:e:*`)).split("\n").filter(Boolean);
    assert.ok(keys.length > 0, "the Worker stored entries");
    for (const entry of keys) {
      const raw = await redisCli(server.port, "GET", entry);
      assert.match(raw, /^\["svc4z","[0-9a-f]{16}","e\./, entry);
      assert.ok(!raw.includes("John") && !raw.includes("workerd"), `${entry} holds no plaintext`);
    }
  } finally {
    await bridge.stop();
    await server.stop();
  }
});
