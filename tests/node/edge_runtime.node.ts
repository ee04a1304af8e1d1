/**
 * The Hono example in Vercel's `edge-runtime` sandbox (no Node or Deno APIs): bundled with esbuild and
 * exercised through `dispatchFetch` - miss, hit, invalidation.
 *
 * @module
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { build } from "esbuild";
import { EdgeRuntime } from "edge-runtime";

test("vercel edge: the Hono example in edge-runtime", async () => {
  const bundle = await build({
    entryPoints: ["examples/edge/edge.ts"],
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "warning",
  });
  const runtime = new EdgeRuntime({ initialCode: bundle.outputFiles[0].text });
  assert.equal(runtime.evaluate("typeof process"), "undefined", "no Node APIs inside");
  const get = async () => {
    const res = await runtime.dispatchFetch("http://edge.test/users/123");
    return [res.headers.get("x-cache"), (await res.json()).name];
  };
  assert.deepEqual(await get(), ["MISS", "John Doe"]);
  assert.deepEqual(await get(), ["HIT", "John Doe"]);
  const put = await runtime.dispatchFetch("http://edge.test/users/123", {
    method: "PUT",
    body: JSON.stringify({ name: "On the edge" }),
  });
  assert.equal(put.status, 200);
  await put.text();
  assert.deepEqual(await get(), ["MISS", "On the edge"]);
  assert.deepEqual(await get(), ["HIT", "On the edge"]);
});
