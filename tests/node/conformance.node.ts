/**
 * The conformance suite hosted by Node's own test runner: the in-memory store and Deno KV through the
 * `@deno/kv` npm package. `npm test` bundles this file with esbuild and runs it with `node --test`.
 *
 * @module
 */

import { test } from "node:test";
import { openKv } from "@deno/kv";
import { testAdapter } from "../../src/testing/mod.ts";
import { memoryStore } from "../../adapters/memory.ts";
import { type DenoKvLike, denoKvStore } from "../../adapters/deno_kv.ts";

const register = (name: string, fn: () => Promise<void>) => void test(name, fn);
testAdapter("memory on node", () => memoryStore(), {}, register);
testAdapter(
  "@deno/kv on node",
  async () => denoKvStore(await openKv(":memory:") as unknown as DenoKvLike, { closeKv: true }),
  {},
  register,
);
