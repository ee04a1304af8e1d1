import assert from "node:assert/strict";
import { redactUrl, urlSecrets } from "./credentials.ts";
import { parseRedisUrl } from "../../adapters/redis.ts";
import { upstashStore } from "../../adapters/upstash.ts";
import { createCache } from "../api/create_cache.ts";

const SECRET = "S3CRET";

/** The message of what `fn` throws (or rejects with). */
async function messageOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (error) {
    return String((error as Error).message);
  }
  return "(nothing thrown)";
}

Deno.test("credentials: a password with an unencoded / or @ never reaches an error or a log line", async () => {
  const urls = [
    `redis://user:${SECRET}/x@host:6379`,
    `redis://:${SECRET}@x@host:6379/0`,
    `redis://user:${SECRET}/x@bad host`,
    `redis://${SECRET}/x@host:bad`,
    `rediss://u:${SECRET}?#x@host/db`,
  ];
  for (const url of urls) {
    assert.doesNotMatch(redactUrl(url), /S3CRET/, url);
    assert.ok(
      urlSecrets(url).some((s) => s.includes(SECRET)),
      `the secret of ${url} is known for log redaction`,
    );
    const parsed = await messageOf(() => parseRedisUrl(url));
    assert.doesNotMatch(parsed, /S3CRET/, `parseRedisUrl: ${parsed}`);
    const lines: string[] = [];
    const log = (line: unknown) => lines.push(String(line));
    const logger = { debug: log, info: log, warn: log, error: log };
    const opened = await messageOf(() => createCache({ url, logger, deadlineMs: 50 }).then((c) => c.close()));
    assert.doesNotMatch(opened + lines.join("\n"), /S3CRET/, `createCache: ${opened} ${lines}`);
  }
  // Unencoded, such a password is still read whole.
  assert.deepEqual(parseRedisUrl(`redis://user:${SECRET}/x@host:6379`), {
    tls: false,
    username: "user",
    password: `${SECRET}/x`,
    database: undefined,
    nodes: [{ host: "host", port: 6379 }],
    cluster: false,
  });
  assert.equal(parseRedisUrl(`redis://:${SECRET}@x@host/2`).password, `${SECRET}@x`);
  assert.equal(redactUrl(`redis://user:${SECRET}/x@host:6379/1`), "redis://user:***@host:6379/1");
  assert.equal(redactUrl(`redis://${SECRET}@host`), "redis://***@host");
  assert.equal(redactUrl("redis://host:6379"), "redis://host:6379");
  const upstash = await messageOf(() =>
    upstashStore({ url: `https://default:${SECRET}/x@host`, token: "t" })
  );
  assert.match(upstash, /holds credentials/);
  assert.doesNotMatch(upstash, /S3CRET/);
});
