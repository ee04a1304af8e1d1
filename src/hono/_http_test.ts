import assert from "node:assert/strict";
import { Hono } from "hono";
import { cacheResponse } from "./cache_response.ts";
import { freshCache } from "../../tests/_helpers.ts";

/** An app whose one route answers with the headers asked for, counting its runs. */
function headersApp(options: Parameters<typeof cacheResponse>[0] = {}) {
  const app = new Hono();
  let runs = 0;
  app.get("/r/:name", cacheResponse({ key: "r:{name}", ttl: 60, ...options }), (c) => {
    runs++;
    const headers = JSON.parse(c.req.query("h") ?? "{}") as Record<string, string>;
    return c.text(`run ${runs}`, 200, headers);
  });
  const get = (name: string, headers: Record<string, string>, init?: RequestInit) =>
    app.request(`/r/${name}?h=${encodeURIComponent(JSON.stringify(headers))}`, init);
  return { get, runs: () => runs };
}

Deno.test("hono: a response its handler declares stale at once is not stored (RFC 9111 §4.2.1, §5.2.2.4, §5.3)", async () => {
  await freshCache();
  const { get, runs } = headersApp();
  const staleAtOnce: Record<string, Record<string, string>> = {
    "no-cache": { "cache-control": "no-cache" },
    "no-cache-field": { "cache-control": 'no-cache="set-cookie", max-age=60' },
    "max-age-0": { "cache-control": "max-age=0, must-revalidate" },
    "s-maxage-0": { "cache-control": "max-age=60, s-maxage=0" },
    "max-age-bad": { "cache-control": "max-age=soon" },
    "expires-past": { expires: "Thu, 01 Jan 1970 00:00:00 GMT" },
    "expires-invalid": { expires: "0" },
    "expires-at-date": { date: "Mon, 07 Dec 2026 10:00:00 GMT", expires: "Mon, 07 Dec 2026 10:00:00 GMT" },
    "first-max-age-wins": { "cache-control": "max-age=0, max-age=60" },
    "aged-out": { "cache-control": "max-age=60", age: "60" },
  };
  for (const [name, headers] of Object.entries(staleAtOnce)) {
    const before = runs();
    const first = await get(name, headers);
    const second = await get(name, headers);
    assert.equal(runs() - before, 2, `${name}: the handler ran for both requests`);
    assert.equal(second.headers.get("x-cache"), null, `${name}: served by the handler, not the cache`);
    assert.equal(await second.text(), `run ${runs()}`);
    assert.equal(
      first.headers.get("cache-control"),
      headers["cache-control"] ?? null,
      `${name}: kept as sent`,
    );
  }
  // A lifetime of its own, for shared caches first: stored.
  const fresh: Record<string, Record<string, string>> = {
    "max-age-60": { "cache-control": "max-age=60" },
    "s-maxage-wins": { "cache-control": "max-age=0, s-maxage=60" },
    "expires-later": { date: "Mon, 07 Dec 2026 10:00:00 GMT", expires: "Mon, 07 Dec 2026 11:00:00 GMT" },
    "aged-less": { "cache-control": "MAX-AGE=60", age: "10" },
  };
  for (const [name, headers] of Object.entries(fresh)) {
    const before = runs();
    await get(name, headers);
    const hit = await get(name, headers);
    assert.equal(hit.headers.get("x-cache"), "HIT", name);
    assert.equal(runs() - before, 1, `${name}: one run`);
  }
});

Deno.test("hono: a response stored per identity goes out private, whatever Cache-Control its handler set", async () => {
  await freshCache();
  const { get } = headersApp({ identity: (c) => c.req.header("authorization"), sMaxAge: 600 });
  const auth = { headers: { authorization: "Bearer alice" } };
  const own = { "cache-control": "public, max-age=60, s-maxage=300, stale-if-error=30" };
  const miss = await get("own", own, auth);
  const hit = await get("own", own, auth);
  for (const res of [miss, hit]) {
    assert.equal(res.headers.get("cache-control"), "private, max-age=60, stale-if-error=30");
    assert.match(res.headers.get("vary") ?? "", /authorization/i);
  }
  assert.equal(hit.headers.get("x-cache"), "HIT");
  // Stored per identity, a response its handler marked private is cached (for that caller alone).
  const mine = { "cache-control": "private, max-age=60" };
  await get("mine", mine, auth);
  const again = await get("mine", mine, auth);
  assert.equal(again.headers.get("x-cache"), "HIT");
  assert.equal(again.headers.get("cache-control"), "private, max-age=60");
  assert.equal(
    (await get("mine", mine, { headers: { authorization: "Bearer bob" } })).headers.get("x-cache"),
    "MISS",
  );
  const none = await get("none", {}, auth);
  assert.equal(none.headers.get("cache-control"), "private, max-age=60", "ours: private, no s-maxage");
  // The same route without Authorization stays public, with the handler's own header as it was.
  const anonymous = await get("own", own);
  assert.equal(anonymous.headers.get("cache-control"), own["cache-control"]);
});

Deno.test("hono: the default key is the target URI: two hosts never share a response", async () => {
  await freshCache();
  const app = new Hono();
  let runs = 0;
  app.get("/home", cacheResponse({ ttl: 60 }), (c) => (runs++, c.text(`home of ${new URL(c.req.url).host}`)));
  const a = await app.request("http://tenant-a.example/home");
  const b = await app.request("http://tenant-b.example/home");
  const a2 = await app.request("http://tenant-a.example/home");
  assert.equal(await a.text(), "home of tenant-a.example");
  assert.equal(await b.text(), "home of tenant-b.example");
  assert.equal(b.headers.get("x-cache"), "MISS");
  assert.equal(a2.headers.get("x-cache"), "HIT");
  assert.equal(await a2.text(), "home of tenant-a.example");
  assert.equal(runs, 2);
});
