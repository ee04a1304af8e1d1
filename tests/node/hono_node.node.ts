/**
 * The Hono example on Node (`@hono/node-server`, from the npm build), as a real server exercised over HTTP.
 *
 * @module
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

test("hono example on node: MISS, HIT, invalidation by PUT", async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ["examples/hono/node.mjs"], {
    env: { ...process.env, PORT: String(port) },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d) => String(d).includes("listening") && resolve());
      child.on("exit", (code) => reject(new Error(`exited with ${code}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    const get = async () => {
      const res = await fetch(`${base}/users/123`);
      return [res.headers.get("x-cache"), (await res.json()).name];
    };
    assert.deepEqual(await get(), ["MISS", "John Doe"]);
    assert.deepEqual(await get(), ["HIT", "John Doe"]);
    const put = await fetch(`${base}/users/123`, {
      method: "PUT",
      body: JSON.stringify({ name: "On Node" }),
    });
    assert.equal(put.status, 200);
    await put.text();
    assert.deepEqual(await get(), ["MISS", "On Node"]);
  } finally {
    child.kill("SIGKILL");
  }
});
