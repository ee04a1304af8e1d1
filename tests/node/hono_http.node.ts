/**
 * `cacheResponse` over real HTTP on Node (`@hono/node-server`): the cases of tests/hono_http_cases.ts under
 * Node's test runner (`npm test` bundles this file with esbuild and runs it with `node --test`).
 *
 * @module
 */

import { test } from "node:test";
import { serve } from "@hono/node-server";
import { honoHttpCases } from "../hono_http_cases.ts";

honoHttpCases((name, fn) => void test(name, fn), (fetch) =>
  new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, ({ port }) =>
      resolve({
        base: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }));
  }));
