#!/usr/bin/env node
// A local HTTP server speaking the Upstash REST protocol over a real redis-server, for tests and benchmarks
// (Upstash itself is unreachable here). It implements what @upstash/redis sends: POST / with a JSON command
// array, /pipeline, /multi-exec, path-style commands, `Authorization: Bearer`, `Upstash-Encoding: base64`,
// and `{result}` / `{error}` replies. GET /__requests returns how many Upstash requests it served (tests
// count round trips with it).
//
// Usage: REDIS_URL=redis://127.0.0.1:6379 TOKEN=secret PORT=8079 node scripts/upstash_bridge.mjs
import http from "node:http";
import { createClient, RESP_TYPES } from "@redis/client";

const port = Number(process.env.PORT ?? 8079);
const token = process.env.TOKEN ?? "dev-token";
const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.SIMPLE_STRING]: Buffer };
const redis = createClient({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" }).withTypeMapping(
  BUFFERS,
);
redis.on("error", () => {});
await redis.connect();
let served = 0;

/** Encodes a raw RESP reply the way Upstash does: bulk strings as base64 (or UTF-8), the rest as is. */
function encode(value, base64) {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) {
    const text = value.toString("utf8");
    // Upstash sends "OK"-like simple strings raw even in base64 mode; the client accepts both.
    return base64 && text !== "OK" ? value.toString("base64") : text;
  }
  if (Array.isArray(value)) return value.map((v) => encode(v, base64));
  if (value instanceof Map) return [...value].flat().map((v) => encode(v, base64));
  return value;
}

const run = (cmd) => redis.sendCommand(cmd.map(String), { typeMapping: BUFFERS });
const settle = (promise, base64) =>
  promise.then((result) => ({ result: encode(result, base64) }), (error) => ({ error: error.message }));

const server = http.createServer(async (req, res) => {
  const send = (code, body) => {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const path = new URL(req.url, "http://bridge").pathname;
  if (req.method === "GET" && path === "/__requests") return send(200, { requests: served });
  if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: "Unauthorized" });
  served++;
  let raw = "";
  for await (const chunk of req) raw += chunk;
  let body;
  try {
    body = raw ? JSON.parse(raw) : null;
  } catch {
    return send(400, { error: "ERR failed to parse the request body as JSON" });
  }
  const base64 = (req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
  if (path === "/pipeline") {
    if (!Array.isArray(body)) return send(400, { error: "ERR a pipeline needs an array of commands" });
    // Commands issued in one tick leave in one write: the pipeline is one round trip to Redis.
    return send(200, await Promise.all(body.map((cmd) => settle(run(cmd), base64))));
  }
  if (path === "/multi-exec") {
    if (!Array.isArray(body)) return send(400, { error: "ERR a transaction needs an array of commands" });
    const multi = redis.multi();
    for (const cmd of body) multi.addCommand(cmd.map(String));
    try {
      const replies = await multi.exec();
      return send(
        200,
        replies.map((r) => r instanceof Error ? { error: r.message } : { result: encode(r, base64) }),
      );
    } catch (error) {
      return send(400, { error: error.message });
    }
  }
  const command = Array.isArray(body) ? body : path.split("/").filter(Boolean).map(decodeURIComponent);
  if (command.length === 0) return send(400, { error: "ERR empty command" });
  const reply = await settle(run(command), base64);
  return send(reply.error ? 400 : 200, reply);
});
server.listen(port, "127.0.0.1", () => console.log(`upstash bridge on http://127.0.0.1:${port}`));
// Clients' keep-alive connections are dropped too: close() alone waited minutes for them.
const stop = () => {
  server.close(() => redis.close().finally(() => process.exit(0)));
  server.closeAllConnections();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
