import assert from "node:assert/strict";
import { Hono } from "hono";
import { cacheResponse } from "./cache_response.ts";
import { invalidateOnWrite } from "./invalidate_on_write.ts";
import { cacheRead, type CacheStore, invalidateTags, type ReadResult } from "../../mod.ts";
import { memoryStore } from "../store/memory_store.ts";
import { freshCache, ManualClock } from "../../tests/_helpers.ts";

Deno.test("hono: options of the wrong form are a TypeError when the middleware is made, not a silent default", () => {
  const wrong: [Parameters<typeof cacheResponse>[0], RegExp][] = [
    [{ tags: "user:{id}" as never }, /tags must be an array or a function, current value is "user:\{id\}"/],
    [{ key: 42 as never }, /key must be a string or a function, current value is 42/],
    [{ identity: "bob" as never }, /identity must be a function, current value is "bob"/],
    [{ vary: "accept-language" as never }, /vary must be an array, current value is "accept-language"/],
    [{ name: 42 as never }, /name must be a non-empty string/],
    [{ smoothExpiry: "y" as never }, /smoothExpiry must be true or false/],
  ];
  for (const [options, message] of wrong) {
    assert.throws(() => cacheResponse(options), { name: "TypeError", message }, JSON.stringify(options));
  }
  assert.throws(() => cacheResponse(null as never), {
    name: "TypeError",
    message: /expected an options object/,
  });
  for (const option of ["staleTtl", "earlyTtl", "sMaxAge", "notFoundTtl"]) {
    assert.throws(() => cacheResponse({ ttl: 60, [option]: "long" }), {
      name: "RangeError",
      message: new RegExp(`${option} must be seconds >= 0, current value is the string "long"`),
    });
  }
  assert.throws(() => cacheResponse({ sMaxAge: 1e21 }), {
    name: "RangeError",
    message: /sMaxAge must be at most/,
  });
  assert.throws(() => invalidateOnWrite({ tags: [], recache: {} as never }), {
    name: "TypeError",
    message: /recache must be an array of recache\(reader\) specs/,
  });
  assert.throws(() => invalidateOnWrite("user:{id}" as never), /expected an options object/);
});

Deno.test("hono: a write route whose tags cannot be rendered does not run its handler", async () => {
  await freshCache();
  const app = new Hono();
  const db = new Map([["1", "Ada"]]);
  let reads = 0;
  app.get(
    "/users/:id",
    cacheResponse({ key: "user:{id}", tags: ["user:{id}"], ttl: 60 }),
    (c) => (reads++, c.text(db.get(c.req.param("id"))!)),
  );
  app.put("/users/:id", invalidateOnWrite({ tags: ["user:{id}", "org:{org}"] }), async (c) => {
    db.set(c.req.param("id"), await c.req.text());
    return c.text("ok");
  });
  assert.equal(await (await app.request("/users/1")).text(), "Ada");
  const refused = await app.request("/users/1", { method: "PUT", body: "Grace" });
  assert.equal(refused.status, 500, "the missing org parameter fails the request");
  assert.equal(db.get("1"), "Ada", "before the write: nothing was written");
  const hit = await app.request("/users/1");
  assert.equal(hit.headers.get("x-cache"), "HIT");
  assert.equal(await hit.text(), "Ada", "what the cache serves is still what the db holds");
  const written = await app.request("/users/1?org=7", { method: "PUT", body: "Grace" });
  assert.equal(written.status, 200);
  assert.equal(db.get("1"), "Grace");
  const after = await app.request("/users/1");
  assert.equal(after.headers.get("x-cache"), "MISS");
  assert.equal(await after.text(), "Grace");
  assert.equal(reads, 2);
});

Deno.test("hono: a request lacking a parameter its key names is served uncached; one a tag names skips the tag", async () => {
  const { logger } = await freshCache();
  const app = new Hono();
  let runs = 0;
  app.get(
    "/search",
    cacheResponse({ key: "search:{q}", ttl: 60 }),
    (c) => (runs++, c.text(`q=${c.req.query("q")}`)),
  );
  app.get(
    "/items/:id",
    cacheResponse({ key: "item:{id}", tags: ["item:{id}", "lang:{lang}"], ttl: 60 }),
    (c) => (runs++, c.text(`item ${c.req.param("id")}`)),
  );
  for (let i = 0; i < 2; i++) {
    const res = await app.request("/search");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-cache"), null);
    assert.equal(await res.text(), "q=undefined");
  }
  assert.equal(runs, 2, "the handler served both");
  assert.equal((await app.request("/search?q=a")).headers.get("x-cache"), "MISS", "with it: cached");
  assert.equal(logger.at("warn").filter((w) => w.includes('"search:{q}"')).length, 1, "warned once");
  const item = await app.request("/items/1");
  assert.equal(item.status, 200);
  assert.equal(item.headers.get("x-cache"), "MISS");
  assert.equal(
    (await app.request("/items/1")).headers.get("x-cache"),
    "HIT",
    "stored under the tag it could render",
  );
  await invalidateTags("item:1");
  assert.equal((await app.request("/items/1")).headers.get("x-cache"), "MISS", "and that tag invalidates it");
  assert.equal(logger.at("warn").filter((w) => w.includes('"lang:{lang}"')).length, 1);
});

Deno.test("hono: a MISS states the same max-age as the HIT after it, however long the write took", async () => {
  const clock = new ManualClock();
  const memory = memoryStore({ clock });
  // Each write takes 1.5 s on the cache's clock.
  const setMany: CacheStore["setMany"] = async (writes, options) => {
    const done = await memory.setMany(writes, options);
    clock.advance(1500);
    return done;
  };
  await freshCache({ clock, store: { ...memory, setMany } });
  const app = new Hono();
  app.get("/slow", cacheResponse({ ttl: 300 }), (c) => c.text("slow"));
  const miss = await app.request("/slow");
  const hit = await app.request("/slow");
  assert.equal(miss.headers.get("x-cache"), "MISS");
  assert.equal(hit.headers.get("x-cache"), "HIT");
  assert.equal(miss.headers.get("cache-control"), "public, max-age=300");
  assert.equal(hit.headers.get("cache-control"), "public, max-age=300");
  // A cached function's onResult says the same.
  const results: ReadResult[] = [];
  const read = cacheRead({ key: "slow:{id}", ttl: 300 }, ({ id }: { id: number }) => id);
  await read({ id: 1 }, { onResult: (r) => results.push(r) });
  await read({ id: 1 }, { onResult: (r) => results.push(r) });
  assert.deepEqual(results.map((r) => r.status), ["miss", "hit"]);
  assert.deepEqual(
    results.map(({ createdAt, freshUntil }) => ({ createdAt, freshUntil })),
    [results[1], results[1]].map(({ createdAt, freshUntil }) => ({ createdAt, freshUntil })),
    "the miss reports the stored entry's times, as the hit does",
  );
});

Deno.test("hono: mounted with app.use, both middlewares see the answering route's params before its handler runs", async () => {
  await freshCache();
  const app = new Hono();
  const db = new Map([["1", "Ada"]]);
  let reads = 0;
  app.use("/users/*", invalidateOnWrite({ tags: ["user:{id}"] }));
  app.use("/users/*", cacheResponse({ key: "user:{id}", tags: ["user:{id}"], ttl: 60 }));
  app.get("/users/:id", (c) => (reads++, c.text(db.get(c.req.param("id"))!)));
  app.put("/users/:id", async (c) => (db.set(c.req.param("id"), await c.req.text()), c.text("ok")));
  assert.equal((await app.request("/users/1")).headers.get("x-cache"), "MISS");
  assert.equal((await app.request("/users/1")).headers.get("x-cache"), "HIT", "keyed by the route's :id");
  const put = await app.request("/users/1", { method: "PUT", body: "Grace" });
  assert.equal(put.status, 200);
  const after = await app.request("/users/1");
  assert.equal(after.headers.get("x-cache"), "MISS", "the route's :id tag was invalidated");
  assert.equal(await after.text(), "Grace");
  assert.equal(reads, 2);
});
