import assert from "node:assert/strict";
import { type Context, Hono } from "hono";
import { cacheResponse } from "./cache_response.ts";
import { invalidateOnWrite } from "./invalidate_on_write.ts";
import { metricsHandler } from "./metrics_handler.ts";
import {
  type Cache,
  cacheRead,
  createCache,
  getMetrics,
  instance,
  invalidateTags,
  recache,
} from "../../mod.ts";
import { deferred, freshCache, settle } from "../../tests/_helpers.ts";

function usersApp(options: Parameters<typeof cacheResponse>[0] = {}) {
  const app = new Hono();
  const db = new Map([["1", "Ada"], ["2", "Grace"]]);
  let runs = 0;
  app.get(
    "/users/:id",
    cacheResponse({ key: "user:{id}:http", tags: ["user:{id}"], ttl: 60, ...options }),
    (c) => {
      runs++;
      const name = db.get(c.req.param("id"));
      return name ? c.json({ id: c.req.param("id"), name }) : c.json({ error: "not found" }, 404);
    },
  );
  app.put("/users/:id", invalidateOnWrite({ tags: ["user:{id}"] }), async (c) => {
    db.set(c.req.param("id"), (await c.req.json()).name);
    return c.json({ ok: true });
  });
  return { app, db, runs: () => runs };
}

Deno.test("hono: MISS then HIT; the handler runs once; max-age is the ttl and Age the time since stored", async () => {
  const { clock } = await freshCache();
  const { app, runs } = usersApp();
  const miss = await app.request("/users/1");
  assert.equal(miss.headers.get("x-cache"), "MISS");
  assert.equal(miss.headers.get("cache-control"), "public, max-age=60");
  assert.deepEqual(await miss.json(), { id: "1", name: "Ada" });
  clock.advance(10_000);
  const hit = await app.request("/users/1");
  assert.equal(hit.headers.get("x-cache"), "HIT");
  assert.equal(hit.headers.get("age"), "10");
  assert.equal(hit.headers.get("cache-control"), "public, max-age=60", "freshness stated once: with Age");
  assert.equal(hit.headers.get("content-type"), "application/json");
  assert.deepEqual(await hit.json(), { id: "1", name: "Ada" });
  assert.equal(runs(), 1);
});

Deno.test("hono: a mutating route invalidates the tag; the next GET is a MISS with the new data", async () => {
  await freshCache();
  const { app, runs } = usersApp();
  await app.request("/users/1");
  await app.request("/users/2");
  const put = await app.request("/users/1", { method: "PUT", body: JSON.stringify({ name: "Ada L." }) });
  assert.equal(put.status, 200);
  const after = await app.request("/users/1");
  assert.equal(after.headers.get("x-cache"), "MISS");
  assert.deepEqual(await after.json(), { id: "1", name: "Ada L." });
  assert.equal((await app.request("/users/2")).headers.get("x-cache"), "HIT", "user 2 untouched");
  assert.equal(runs(), 3);
});

Deno.test("hono: a failed mutating request invalidates nothing", async () => {
  await freshCache();
  const app = new Hono();
  app.get("/items/:id", cacheResponse({ key: "item:{id}", tags: ["item:{id}"] }), (c) => c.text("v"));
  app.delete("/items/:id", invalidateOnWrite({ tags: ["item:{id}"] }), (c) => c.text("denied", 403));
  await app.request("/items/1");
  await app.request("/items/1", { method: "DELETE" });
  assert.equal((await app.request("/items/1")).headers.get("x-cache"), "HIT");
});

Deno.test("hono: STALE during the grace window, refreshed through executionCtx.waitUntil", async () => {
  const { clock } = await freshCache();
  const { app, db, runs } = usersApp({ ttl: 10, staleTtl: 60 });
  await app.request("/users/1");
  db.set("1", "Ada v2");
  clock.advance(11_000);
  const handed: Promise<unknown>[] = [];
  const ctx = {
    waitUntil: (p: Promise<unknown>) => void handed.push(p),
    passThroughOnException: () => {},
    props: {},
  };
  const stale = await app.request("/users/1", {}, {}, ctx);
  assert.equal(stale.headers.get("x-cache"), "STALE");
  assert.deepEqual(await stale.json(), { id: "1", name: "Ada" });
  assert.equal(handed.length, 1, "the refresh went to waitUntil");
  await Promise.all(handed);
  const fresh = await app.request("/users/1");
  assert.equal(fresh.headers.get("x-cache"), "HIT");
  assert.deepEqual(await fresh.json(), { id: "1", name: "Ada v2" });
  assert.equal(runs(), 2);
});

Deno.test("hono: 404s are cached only with notFoundTtl, for that ttl", async () => {
  const { clock } = await freshCache();
  const plain = usersApp();
  await plain.app.request("/users/9");
  assert.equal((await plain.app.request("/users/9")).headers.get("x-cache"), null, "not cached by default");
  assert.equal(plain.runs(), 2);
  const negative = usersApp({ notFoundTtl: 5 });
  assert.equal((await negative.app.request("/users/9")).status, 404);
  const hit = await negative.app.request("/users/9");
  assert.equal(hit.status, 404);
  assert.equal(hit.headers.get("x-cache"), "HIT");
  assert.equal(negative.runs(), 1);
  clock.advance(5_000);
  assert.equal((await negative.app.request("/users/9")).headers.get("x-cache"), "MISS");
});

Deno.test("hono: never caches Set-Cookie, private, no-store, 5xx, other methods or unidentified Authorization", async () => {
  await freshCache();
  const app = new Hono();
  let runs = 0;
  const route = (path: string, respond: (c: import("hono").Context) => Response) =>
    app.on(["GET", "POST"], path, cacheResponse(), (c) => (runs++, respond(c)));
  route("/cookie", (c) => (c.header("set-cookie", "session=abc"), c.text("hi")));
  route("/private", (c) => (c.header("cache-control", "private, max-age=60"), c.text("mine")));
  route("/nostore", (c) => (c.header("cache-control", "no-store"), c.text("live")));
  route("/error", (c) => c.text("boom", 500));
  route("/ok", (c) => c.text("ok"));
  for (const path of ["/cookie", "/private", "/nostore", "/error"]) {
    runs = 0;
    await app.request(path);
    const second = await app.request(path);
    assert.equal(runs, 2, path);
    assert.equal(second.headers.get("x-cache"), null, path);
  }
  runs = 0;
  await app.request("/ok", { method: "POST" });
  await app.request("/ok", { method: "POST" });
  await app.request("/ok", { headers: { authorization: "Bearer a" } });
  await app.request("/ok", { headers: { authorization: "Bearer a" } });
  assert.equal(runs, 4, "POST and authorized requests run every time");
  assert.equal((await app.request("/cookie")).headers.get("set-cookie"), "session=abc");
});

Deno.test("hono: authorized requests are cached per identity when the route declares one", async () => {
  await freshCache();
  const app = new Hono();
  let runs = 0;
  app.get(
    "/me",
    cacheResponse({ identity: (c) => c.req.header("authorization")?.replace("Bearer ", "") }),
    (c) => (runs++, c.text(`hello ${c.req.header("authorization")}`)),
  );
  const a1 = await app.request("/me", { headers: { authorization: "Bearer alice" } });
  const b1 = await app.request("/me", { headers: { authorization: "Bearer bob" } });
  const a2 = await app.request("/me", { headers: { authorization: "Bearer alice" } });
  assert.equal(await a2.text(), "hello Bearer alice");
  assert.equal(await b1.text(), "hello Bearer bob");
  assert.equal(a2.headers.get("x-cache"), "HIT");
  assert.match(a1.headers.get("cache-control") ?? "", /^private/);
  assert.equal(runs, 2);
});

Deno.test("hono: a key function's string cannot name another caller's identity or header values", async () => {
  await freshCache();
  const app = new Hono();
  let runs = 0;
  const handler = (
    c: Context,
  ) => (runs++, c.text(`results of ${c.req.header("authorization") ?? "anonymous"}`));
  const identity = (c: Context) => c.req.header("authorization")?.replace("Bearer ", "");
  // Taken as it is: the caller controls all of the key.
  const key = (c: Context) => `search:${c.req.query("q") ?? ""}`;
  app.get("/search", cacheResponse({ key, identity }), handler);
  app.get("/varied", cacheResponse({ key, identity, vary: ["accept-language"] }), handler);
  const alice = { authorization: "Bearer alice", "accept-language": "en" };
  for (const path of ["/search?q=foo", "/varied?q=foo"]) {
    assert.equal(await (await app.request(path, { headers: alice })).text(), "results of Bearer alice");
  }
  assert.equal(runs, 2);
  // What the old layout (the key, then "|accept-language=…", then "|identity=…") let anyone spell, and more.
  const forgeries = [
    "/search?q=foo%7Cidentity%3Dalice",
    "/search?q=foo%40alice",
    "/search?q=%40alice%3Asearch%3Afoo",
    "/varied?q=foo%7Caccept-language%3Den%7Cidentity%3Dalice",
    "/varied?q=%40alice%7Caccept-language%3Den%3Asearch%3Afoo",
  ];
  for (const path of forgeries) {
    const forged = await app.request(path, { headers: { "accept-language": "en" } });
    assert.equal(forged.headers.get("x-cache"), "MISS", path);
    assert.equal(await forged.text(), "results of anonymous", path);
  }
  const header = await app.request("/varied?q=foo", { headers: { "accept-language": "en|identity=alice" } });
  assert.equal(await header.text(), "results of anonymous", "nor can a header value");
  assert.equal(runs, 2 + forgeries.length + 1, "each one ran the handler");
});

Deno.test("hono: binary and streamed bodies and headers round-trip exactly", async () => {
  await freshCache();
  const app = new Hono();
  const bytes = new Uint8Array(70_000).map((_, i) => (i * 7919) % 256);
  app.get(
    "/bin",
    cacheResponse(),
    () => new Response(bytes, { headers: { "content-type": "application/octet-stream", "x-custom": "1" } }),
  );
  app.get("/stream", cacheResponse(), () => {
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 5; i++) controller.enqueue(new TextEncoder().encode(`chunk ${i};`));
        controller.close();
      },
    });
    return new Response(stream, { status: 203, headers: { "content-type": "text/plain" } });
  });
  for (let i = 0; i < 2; i++) {
    const bin = await app.request("/bin");
    assert.deepEqual(new Uint8Array(await bin.arrayBuffer()), bytes);
    assert.equal(bin.headers.get("x-custom"), "1");
    const streamed = await app.request("/stream");
    assert.equal(streamed.status, 203);
    assert.equal(await streamed.text(), "chunk 0;chunk 1;chunk 2;chunk 3;chunk 4;");
    assert.equal(streamed.headers.get("x-cache"), i === 0 ? "MISS" : "HIT");
  }
});

Deno.test("hono: vary headers and the query take part in the key", async () => {
  await freshCache();
  const app = new Hono();
  let runs = 0;
  app.get(
    "/greet",
    cacheResponse({ vary: ["Accept-Language"] }),
    (c) => (runs++, c.text(`${c.req.header("accept-language")} ${c.req.query("n")}`)),
  );
  const en = await app.request("/greet?n=1&m=2", { headers: { "accept-language": "en" } });
  const fr = await app.request("/greet?m=2&n=1", { headers: { "accept-language": "fr" } });
  const enAgain = await app.request("/greet?m=2&n=1", { headers: { "accept-language": "en" } });
  assert.equal(await en.text(), "en 1");
  assert.equal(await fr.text(), "fr 1");
  assert.equal(enAgain.headers.get("x-cache"), "HIT", "query order does not matter");
  assert.equal(runs, 2);
});

Deno.test("hono: concurrent requests share one handler run; an uncacheable response is never shared", async () => {
  await freshCache();
  const app = new Hono();
  const gate = deferred<void>();
  let runs = 0, cookieRuns = 0;
  app.get("/slow", cacheResponse(), async (c) => (runs++, await gate.promise, c.text("shared")));
  app.get("/login", cacheResponse(), async (c) => {
    const n = ++cookieRuns;
    await gate.promise;
    c.header("set-cookie", `session=${n}`);
    return c.text(`session ${n}`);
  });
  const slow = Array.from({ length: 20 }, () => app.request("/slow"));
  const logins = Array.from({ length: 3 }, () => app.request("/login"));
  await settle();
  gate.resolve();
  assert.ok((await Promise.all((await Promise.all(slow)).map((r) => r.text()))).every((t) => t === "shared"));
  assert.equal(runs, 1);
  const sessions = await Promise.all((await Promise.all(logins)).map((r) => r.headers.get("set-cookie")));
  assert.equal(new Set(sessions).size, 3, "each request got its own cookie");
});

Deno.test("hono: invalidateOnWrite recaches with the route's params", async () => {
  await freshCache();
  let loads = 0;
  const getUser = cacheRead(
    { key: "u:{id}", tags: ["user:{id}"], ttl: 60 },
    ({ id }: { id: string }) => (loads++, id),
  );
  const app = new Hono();
  app.post(
    "/users/:id",
    invalidateOnWrite({ tags: ["user:{id}"], recache: [recache(getUser, { include: ["id"] })] }),
    (c) => c.text("ok"),
  );
  await getUser({ id: "1" });
  await app.request("/users/1", { method: "POST" });
  assert.equal(loads, 2, "recached");
  await getUser({ id: "1" });
  assert.equal(loads, 2, "and then a hit");
  assert.equal(getMetrics()["cache.warm.count"], 1);
});

Deno.test("hono: metricsHandler serves Prometheus text", async () => {
  await freshCache({ metrics: true });
  const { app } = usersApp({ name: "users" });
  app.get("/metrics", metricsHandler());
  await app.request("/users/1");
  await app.request("/users/1");
  const text = await (await app.request("/metrics")).text();
  assert.match(text, /^# TYPE cache_hit_total counter$/m);
  assert.doesNotMatch(text, /^cache_hit_total \d/m); // every hit is the function's: no unlabelled remainder
  assert.match(text, /^cache_hit_total\{fn="users"\} 1$/m);
  assert.match(text, /^# TYPE cache_load_duration_seconds histogram$/m);
  assert.match(text, /^cache_load_duration_seconds_count\{fn="users"\} 1$/m);
});

Deno.test("hono: HEAD requests are cached apart from GET and carry no body", async () => {
  await freshCache();
  const { app, runs } = usersApp();
  const head = await app.request("/users/1", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("x-cache"), "MISS");
  assert.equal(await head.text(), "");
  const headAgain = await app.request("/users/1", { method: "HEAD" });
  assert.equal(headAgain.headers.get("x-cache"), "HIT");
  assert.equal(await headAgain.text(), "");
  const get = await app.request("/users/1");
  assert.equal(get.headers.get("x-cache"), "MISS", "GET has its own entry");
  assert.deepEqual(await get.json(), { id: "1", name: "Ada" });
  assert.equal(runs(), 2);
});

Deno.test("hono: with smoothExpiry the MISS headers state the stored entry's own freshness", async () => {
  await freshCache({ random: () => 0 }); // the shortest draw: 0.9 × ttl
  const app = new Hono();
  app.get("/j", cacheResponse({ key: "jitter", ttl: 100, smoothExpiry: true }), (c) => c.text("x"));
  const miss = await app.request("/j");
  assert.equal(miss.headers.get("x-cache"), "MISS");
  assert.equal(miss.headers.get("cache-control"), "public, max-age=90", "not the unjittered 100");
  const hit = await app.request("/j");
  assert.equal(hit.headers.get("cache-control"), "public, max-age=90", "the same as the next HIT says");
});

/** Header names a `Vary` value lists, lower case. */
const varyOf = (res: Response) =>
  (res.headers.get("vary") ?? "").split(",").map((v) => v.trim().toLowerCase());

Deno.test("hono: `vary` is sent as Vary; a response's own Vary joins the key; Vary: * is never cached", async () => {
  await freshCache();
  const app = new Hono();
  const runs = { lang: 0, tenant: 0, star: 0 };
  app.get("/lang", cacheResponse({ vary: ["Accept-Language"] }), (c) => (runs.lang++, c.text("x")));
  app.get("/tenant", cacheResponse(), (c) => {
    runs.tenant++;
    c.header("vary", "X-Tenant");
    return c.text(`page of ${c.req.header("x-tenant")}`);
  });
  app.get("/star", cacheResponse(), (c) => (runs.star++, c.header("vary", "*"), c.text("any")));
  const lang = await app.request("/lang", { headers: { "accept-language": "en" } });
  assert.equal(lang.headers.get("vary"), "Accept-Language");
  assert.equal(lang.headers.get("x-cache"), "MISS");

  const tenant = (name: string) => app.request("/tenant", { headers: { "x-tenant": name } });
  const a1 = await tenant("a");
  assert.equal(a1.headers.get("x-cache"), null, "not stored under a key without X-Tenant");
  const b1 = await tenant("b");
  assert.equal(await b1.text(), "page of b", "not a's page");
  assert.equal(b1.headers.get("x-cache"), "MISS", "stored under a key with X-Tenant");
  assert.deepEqual(varyOf(b1), ["x-tenant"]);
  const a2 = await tenant("a"), b2 = await tenant("b");
  assert.equal(await a2.text(), "page of a");
  assert.equal(a2.headers.get("x-cache"), "MISS");
  assert.equal(await b2.text(), "page of b");
  assert.equal(b2.headers.get("x-cache"), "HIT");
  assert.equal(runs.tenant, 3);

  for (let i = 0; i < 3; i++) assert.equal((await app.request("/star")).headers.get("x-cache"), null);
  assert.equal(runs.star, 3);
});

Deno.test("hono: sMaxAge is sent as s-maxage (not when private); a response in its grace window says stale-while-revalidate", async () => {
  const { clock } = await freshCache();
  const app = new Hono();
  app.get("/p", cacheResponse({ ttl: 10, sMaxAge: 120, staleTtl: 30 }), (c) => c.text("p"));
  app.get("/me", cacheResponse({ ttl: 10, sMaxAge: 120, identity: () => "ada" }), (c) => c.text("me"));
  app.get("/gone", cacheResponse({ sMaxAge: 120, staleTtl: 30, notFoundTtl: 5 }), (c) => c.text("", 404));
  app.get("/us", cacheResponse({ vary: ["authorization"], identity: () => "ada" }), (c) => c.text("us"));
  const control = "public, max-age=10, s-maxage=120, stale-while-revalidate=30";
  assert.equal((await app.request("/p")).headers.get("cache-control"), control);
  clock.advance(15_000);
  const stale = await app.request("/p");
  assert.equal(stale.headers.get("x-cache"), "STALE");
  assert.equal(stale.headers.get("age"), "15");
  assert.equal(stale.headers.get("cache-control"), control);
  const mine = await app.request("/me", { headers: { authorization: "Bearer ada" } });
  assert.equal(mine.headers.get("cache-control"), "private, max-age=10");
  assert.deepEqual(
    varyOf(mine),
    ["authorization"],
    "an identity route's public answers must not reach callers",
  );
  const ours = await app.request("/us", { headers: { authorization: "Bearer ada" } });
  assert.deepEqual(varyOf(ours), ["authorization"], "named once");
  const gone = await app.request("/gone");
  assert.equal(
    gone.headers.get("cache-control"),
    "public, max-age=5, s-maxage=120",
    "negative entries have no grace",
  );
  assert.throws(() => cacheResponse({ sMaxAge: -1 }), RangeError);
});

Deno.test("hono: a handler's own Cache-Control is kept and its Age grows; without one, an upstream Age is dropped", async () => {
  const { clock } = await freshCache();
  const app = new Hono();
  const upstream = (control?: string) =>
    new Response("x", { headers: { age: "30", ...(control ? { "cache-control": control } : {}) } });
  app.get("/own", cacheResponse({ ttl: 60 }), () => upstream("public, max-age=100"));
  app.get("/ours", cacheResponse({ ttl: 60 }), () => upstream());
  await app.request("/own");
  await app.request("/ours");
  clock.advance(10_000);
  const own = await app.request("/own");
  assert.deepEqual([own.headers.get("cache-control"), own.headers.get("age")], ["public, max-age=100", "40"]);
  const ours = await app.request("/ours");
  assert.deepEqual([ours.headers.get("cache-control"), ours.headers.get("age")], [
    "public, max-age=60",
    "10",
  ]);
});

Deno.test("hono: a strong ETag from the stored body; If-None-Match gets 304 without body on HIT and MISS, 2xx only", async () => {
  await freshCache();
  const app = new Hono();
  let body = "v1";
  let runs = 0;
  app.get("/doc", cacheResponse({ key: "doc", tags: ["doc"], vary: ["accept-language"] }), (c) => {
    runs++;
    return c.text(`${body} ${c.req.header("accept-language")}`);
  });
  app.get("/own", cacheResponse(), (c) => (c.header("etag", '"rev-7"'), c.text("own")));
  app.get("/missing", cacheResponse({ notFoundTtl: 60 }), (c) => c.text("no", 404));
  const get = (path: string, headers: Record<string, string> = {}, method = "GET") =>
    app.request(path, { method, headers: { "accept-language": "en", ...headers } });

  const first = await get("/doc");
  const etag = first.headers.get("etag")!;
  assert.match(etag, /^"[A-Za-z0-9_-]{22}"$/);
  assert.equal(first.headers.get("content-length"), "5", "the stored body's length");
  const hit = await get("/doc", { "if-none-match": etag });
  assert.equal(hit.status, 304);
  assert.equal(hit.body, null);
  assert.equal(hit.headers.get("etag"), etag);
  assert.equal(hit.headers.get("content-length"), null);
  assert.equal((await get("/doc", { "if-none-match": etag }, "HEAD")).status, 304);
  assert.equal((await get("/doc", { "if-none-match": "*" })).status, 304);
  const fr = await get("/doc", { "accept-language": "fr", "if-none-match": etag });
  assert.equal(fr.status, 200);
  assert.equal(await fr.text(), "v1 fr");
  assert.notEqual(fr.headers.get("etag"), etag, "each variant its own ETag");

  await invalidateTags("doc");
  const same = await get("/doc", { "if-none-match": etag });
  assert.equal(same.headers.get("x-cache"), "MISS");
  assert.equal(same.status, 304, "a MISS answers the condition too");
  await invalidateTags("doc");
  body = "v2";
  const changed = await get("/doc", { "if-none-match": etag });
  assert.equal(changed.status, 200);
  assert.equal(await changed.text(), "v2 en");
  assert.notEqual(changed.headers.get("etag"), etag);
  assert.equal(runs, 5, "en, HEAD (its own entry), fr, and en twice after invalidations");

  assert.equal((await get("/own")).headers.get("etag"), '"rev-7"', "the handler's strong ETag is kept");
  assert.equal((await get("/own", { "if-none-match": '"rev-7"' })).status, 304);
  const missing = await get("/missing");
  assert.match(missing.headers.get("etag") ?? "", /^"/);
  const conditional404 = await get("/missing", { "if-none-match": missing.headers.get("etag")! });
  assert.equal(conditional404.status, 404, "conditions apply to 2xx only");
  assert.equal(conditional404.headers.get("x-cache"), "HIT");
});

Deno.test("hono: only complete, cacheable statuses are stored; 410 like 404 with notFoundTtl", async () => {
  await freshCache();
  const app = new Hono();
  const responses: Record<string, () => Response> = {
    "200": () => new Response("ok"),
    "203": () => new Response("transformed", { status: 203 }),
    "204": () => new Response(null, { status: 204 }),
    "300": () => new Response("choose", { status: 300 }),
    "301": () => new Response(null, { status: 301, headers: { location: "/200" } }),
    "308": () => new Response(null, { status: 308, headers: { location: "/200" } }),
    "201": () => new Response("made", { status: 201 }),
    "202": () => new Response("later", { status: 202 }),
    "206": () => new Response("ok", { status: 206, headers: { "content-range": "bytes 0-1/2" } }),
    "200-range": () => new Response("ok", { headers: { "content-range": "bytes 0-1/2" } }),
    "302": () => new Response(null, { status: 302, headers: { location: "/200" } }),
    "410": () => new Response("gone", { status: 410 }),
  };
  app.get("/hops", cacheResponse(), () =>
    new Response("x", {
      headers: { connection: "x-hop", "x-hop": "1", "keep-alive": "timeout=5", "x-kept": "1" },
    }));
  const runs: Record<string, number> = {};
  for (const [path, respond] of Object.entries(responses)) {
    app.get(`/${path}`, cacheResponse(), () => (runs[path] = (runs[path] ?? 0) + 1, respond()));
    app.get(`/negative/${path}`, cacheResponse({ notFoundTtl: 60 }), () => respond());
  }
  const stored: string[] = [];
  for (const path of Object.keys(responses)) {
    await app.request(`/${path}`);
    const again = await app.request(`/${path}`);
    if (again.headers.get("x-cache") === "HIT") stored.push(path);
    assert.equal(again.status, Number(path.slice(0, 3)));
  }
  assert.deepEqual(stored, ["200", "203", "204", "300", "301", "308"]);
  assert.equal((await app.request("/204")).headers.get("content-length"), null, "a 204 has none");
  const hops = await app.request("/hops");
  assert.deepEqual(
    ["connection", "x-hop", "keep-alive", "x-kept"].map((h) => hops.headers.get(h)),
    [null, null, null, "1"],
    "hop-by-hop fields are not stored",
  );
  await app.request("/negative/410");
  assert.equal((await app.request("/negative/410")).headers.get("x-cache"), "HIT");
});

Deno.test("hono: a body fetch decoded is stored without its gzip header, and with its own length", async () => {
  await freshCache();
  const text = "compressible ".repeat(100);
  const gzipped = new Uint8Array(
    await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
  );
  const origin = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(gzipped, { headers: { "content-type": "text/plain", "content-encoding": "gzip" } }),
  );
  try {
    const app = new Hono();
    app.get("/proxy", cacheResponse(), () => fetch(`http://127.0.0.1:${origin.addr.port}/`));
    for (const cacheStatus of ["MISS", "HIT"]) {
      const res = await app.request("/proxy");
      assert.equal(res.headers.get("x-cache"), cacheStatus);
      assert.equal(res.headers.get("content-encoding"), null);
      assert.equal(res.headers.get("content-length"), String(text.length));
      assert.equal(await res.text(), text);
    }
  } finally {
    await origin.shutdown();
  }
});

Deno.test("hono: cacheResponse and invalidateOnWrite use the `cache` option's instance, not the default", async () => {
  await freshCache();
  const cache = await createCache({ prefix: "other" });
  try {
    const app = new Hono();
    let runs = 0;
    app.get(
      "/a/:id",
      cacheResponse({ cache, key: "a:{id}", tags: ["a:{id}"] }),
      (c) => (runs++, c.text("a")),
    );
    app.put("/a/:id", invalidateOnWrite({ cache, tags: ["a:{id}"] }), (c) => c.text("ok"));
    await app.request("/a/1");
    assert.equal((await app.request("/a/1")).headers.get("x-cache"), "HIT");
    assert.deepEqual(await cache.keys(), ["http:GET:a:1"]);
    assert.deepEqual(await instance().keys(), [], "nothing in the default cache");
    await app.request("/a/1", { method: "PUT" });
    assert.equal((await app.request("/a/1")).headers.get("x-cache"), "MISS", "invalidated in that cache");
    assert.equal(runs, 2);
    assert.throws(() => cacheResponse({ cache: {} as Cache }), /cache must be a cache from createCache/);
    assert.throws(() => invalidateOnWrite({ tags: [], cache: {} as Cache }), /cache must be a cache/);
  } finally {
    await cache.close();
  }
});

Deno.test("hono: unknown option names are a TypeError naming the closest known one", () => {
  assert.throws(() => cacheResponse({ tll: 60 } as never), {
    name: "TypeError",
    message: /unknown option "tll"; did you mean "ttl"\?/,
  });
  assert.throws(() => cacheResponse({ smaxage: 60 } as never), /did you mean "sMaxAge"\?/);
  assert.throws(() => invalidateOnWrite({ tags: [], recahce: [] } as never), {
    name: "TypeError",
    message: /unknown option "recahce"; did you mean "recache"\?/,
  });
  assert.throws(() => invalidateOnWrite({ tag: ["user:{id}"] } as never), /did you mean "tags"\?/);
});

Deno.test("hono: callbacks may take Hono's whole Context; the middleware fits app.use", async () => {
  await freshCache();
  const app = new Hono<{ Variables: { tenant: string } }>();
  app.use("*", async (c, next) => (c.set("tenant", c.req.header("x-tenant") ?? "none"), await next()));
  app.use(
    "/t/*",
    cacheResponse({ key: (c: Context<{ Variables: { tenant: string } }>) => `t:${c.get("tenant")}` }),
  );
  app.get("/t/page", (c) => c.text(`for ${c.get("tenant")}`));
  await app.request("/t/page", { headers: { "x-tenant": "a" } });
  const hit = await app.request("/t/page", { headers: { "x-tenant": "a" } });
  assert.equal(hit.headers.get("x-cache"), "HIT");
  assert.equal(await (await app.request("/t/page", { headers: { "x-tenant": "b" } })).text(), "for b");
});

Deno.test("hono: outer middleware's headers for this request are served with a HIT, and never stored for others", async () => {
  await freshCache();
  const app = new Hono();
  let next = 0;
  app.use("*", async (c, proceed) => {
    c.header("x-request-id", `req-${++next}`);
    // A session middleware: a visitor without one gets a cookie.
    if (!c.req.header("cookie")) c.header("set-cookie", `sid=s${next}; Path=/; HttpOnly`, { append: true });
    await proceed();
  });
  let runs = 0;
  app.get("/page", cacheResponse({ key: "page", ttl: 60 }), (c) => {
    runs++;
    c.header("x-handler", "own");
    return c.text("public page");
  });
  const first = await app.request("/page", { headers: { cookie: "sid=alice" } });
  assert.equal(first.headers.get("x-cache"), "MISS");
  assert.equal(first.headers.get("x-request-id"), "req-1");
  const visitor = await app.request("/page");
  assert.equal(visitor.headers.get("x-cache"), "HIT");
  assert.equal(visitor.headers.get("x-request-id"), "req-2", "this request's id, not the first caller's");
  assert.equal(visitor.headers.get("set-cookie"), "sid=s2; Path=/; HttpOnly", "the new visitor's own cookie");
  assert.equal(visitor.headers.get("x-handler"), "own", "the handler's own headers are stored");
  assert.equal(await visitor.text(), "public page");
  const again = await app.request("/page", { headers: { cookie: "sid=s2" } });
  assert.equal(again.headers.get("x-request-id"), "req-3");
  assert.equal(again.headers.get("set-cookie"), null, "no one else's cookie");
  assert.equal(runs, 1);
  // A new visitor's first request: the outer cookie does not keep the handler's response from being stored.
  const fresh = new Hono();
  fresh.use("*", async (c, proceed) => (c.header("set-cookie", "sid=new; Path=/"), await proceed()));
  let freshRuns = 0;
  fresh.get("/p", cacheResponse({ key: "p", ttl: 60 }), (c) => (freshRuns++, c.text("p")));
  const [a, b] = [await fresh.request("/p"), await fresh.request("/p")];
  assert.deepEqual([a.headers.get("x-cache"), b.headers.get("x-cache")], ["MISS", "HIT"]);
  assert.equal(b.headers.get("set-cookie"), "sid=new; Path=/");
  assert.equal(freshRuns, 1);
  // Fields outer middleware set on c.res itself before the handler (as cors() does) are this request's too.
  const onRes = new Hono();
  let id = 0;
  onRes.use("*", async (c, proceed) => (c.res.headers.set("x-request-id", `r${++id}`), await proceed()));
  onRes.get("/r", cacheResponse({ key: "r", ttl: 60 }), (c) => c.text("r"));
  const [m, h] = [await onRes.request("/r"), await onRes.request("/r")];
  assert.deepEqual([m.headers.get("x-cache"), h.headers.get("x-cache")], ["MISS", "HIT"]);
  assert.deepEqual([m.headers.get("x-request-id"), h.headers.get("x-request-id")], ["r1", "r2"]);
  // What outer middleware says of caching counts as the handler's own: private for signed-in callers, Vary.
  for (
    const [header, value] of [["cache-control", "private"], ["cache-control", "no-store"], ["vary", "cookie"]]
  ) {
    const guarded = new Hono();
    guarded.use("*", async (c, proceed) => {
      if (c.req.header("cookie")) c.header(header, value);
      await proceed();
    });
    guarded.get(
      "/me",
      cacheResponse({ key: "me", ttl: 60 }),
      (c) => c.text(`hello ${c.req.header("cookie")}`),
    );
    await guarded.request("/me", { headers: { cookie: "sid=alice" } });
    const bob = await guarded.request("/me", { headers: { cookie: "sid=bob" } });
    assert.equal(await bob.text(), "hello sid=bob", `${header}: ${value} keeps alice's page from bob`);
  }
  // A cookie the handler sets itself still keeps its response out of the cache.
  const own = new Hono();
  let ownRuns = 0;
  own.get(
    "/o",
    cacheResponse({ key: "o", ttl: 60 }),
    (c) => (ownRuns++, c.header("set-cookie", "x=1"), c.text("o")),
  );
  await own.request("/o"), await own.request("/o");
  assert.equal(ownRuns, 2);
});

Deno.test("hono: a response that varies on a header its key lacks is not shared, even when another route's response taught the key that header meanwhile", async () => {
  await freshCache();
  const app = new Hono();
  app.get("/p/:id", cacheResponse({ ttl: 60 }), async (c) => {
    if (c.req.param("id") === "1") await new Promise((r) => setTimeout(r, 50));
    c.header("vary", "cookie");
    return c.text(`for ${c.req.header("cookie")}`);
  });
  const alice = app.request("/p/1", { headers: { cookie: "u=alice" } });
  await new Promise((r) => setTimeout(r, 5));
  const bob = app.request("/p/1", { headers: { cookie: "u=bob" } }); // same key: joins alice's load
  await new Promise((r) => setTimeout(r, 5));
  await (await app.request("/p/2", { headers: { cookie: "u=carol" } })).text(); // adds cookie to the key
  assert.equal(await (await alice).text(), "for u=alice");
  assert.equal(await (await bob).text(), "for u=bob");
});
