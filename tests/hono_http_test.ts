/** `cacheResponse` over real HTTP on `Deno.serve`; the cases are in tests/hono_http_cases.ts (Node runs them too). @module */
import { honoHttpCases } from "./hono_http_cases.ts";

honoHttpCases((name, fn) => Deno.test(name, fn), (fetch) => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, fetch);
  return Promise.resolve({ base: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() });
});
