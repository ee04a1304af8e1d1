/** The Hono example served by a real `deno serve` process and exercised over HTTP. */
import assert from "node:assert/strict";
import { freePort } from "./_servers.ts";

const backends: [string, Record<string, string>][] = [["memory", {}]];
const redis = Deno.env.get("TEST_REDIS_URL");
if (redis) backends.push(["redis", { CACHE_URL: redis }]);

for (const [name, env] of backends) {
  Deno.test(`hono example on deno serve (${name}): MISS, HIT, invalidation by PUT, 404, metrics`, async () => {
    const port = freePort();
    const server = new Deno.Command(Deno.execPath(), {
      args: ["serve", "-A", "--host", "127.0.0.1", "--port", String(port), "examples/hono/deno.ts"],
      env: { NO_COLOR: "1", CACHE_PREFIX: `honoex${crypto.randomUUID().slice(0, 8)}`, ...env },
      stdout: "null",
      stderr: "null",
    }).spawn();
    const base = `http://127.0.0.1:${port}`;
    try {
      for (let i = 0; i < 200; i++) {
        try {
          await (await fetch(`${base}/metrics`)).body?.cancel();
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 25));
        }
      }
      const get = async () => {
        const res = await fetch(`${base}/users/123`);
        return { cache: res.headers.get("x-cache"), body: await res.json() };
      };
      assert.deepEqual(await get(), { cache: "MISS", body: { userId: 123, name: "John Doe" } });
      assert.deepEqual(await get(), { cache: "HIT", body: { userId: 123, name: "John Doe" } });
      const put = await fetch(`${base}/users/123`, {
        method: "PUT",
        body: JSON.stringify({ name: "New Name" }),
      });
      assert.equal(put.status, 200);
      await put.body?.cancel();
      assert.deepEqual(await get(), { cache: "MISS", body: { userId: 123, name: "New Name" } });
      const missing = await fetch(`${base}/users/9`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
      const missingAgain = await fetch(`${base}/users/9`);
      assert.equal(missingAgain.headers.get("x-cache"), "HIT");
      await missingAgain.body?.cancel();
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /^cache_hit_total 2$/m);
    } finally {
      server.kill("SIGKILL");
      await server.status;
    }
  });
}
