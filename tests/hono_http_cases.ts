/**
 * `cacheResponse`'s HTTP caching (RFC 9111) seen by a real client over a real server: shared by Deno
 * (tests/hono_http_test.ts, `Deno.serve`) and Node (tests/node/hono_http.node.ts, `@hono/node-server`). Each
 * case stores in its own `createCache` instance with a clock the test moves.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Hono } from "hono";
import { createCache } from "../mod.ts";
import { cacheResponse, invalidateOnWrite } from "../src/hono/mod.ts";
import { ManualClock } from "./_helpers.ts";

/** A server for `fetch` on a free loopback port. */
export type Serve = (
  fetch: (request: Request) => Response | Promise<Response>,
) => Promise<{ base: string; close: () => Promise<void> }>;

/** Header names a `Vary` value lists, lower case. */
const varyOf = (res: Response) =>
  (res.headers.get("vary") ?? "").split(",").map((v) => v.trim().toLowerCase());

/** Registers the cases with `test`, each serving its app with `serve`. */
export function honoHttpCases(test: (name: string, fn: () => Promise<void>) => void, serve: Serve): void {
  /** Runs `body` against `app` served, with a cache on a manual clock; closes both. */
  async function served(
    build: (cache: Awaited<ReturnType<typeof createCache>>, app: Hono) => void,
    body: (
      get: (path: string, headers?: Record<string, string>) => Promise<Response>,
      clock: ManualClock,
    ) => Promise<void>,
  ): Promise<void> {
    const clock = new ManualClock();
    const cache = await createCache({ clock });
    const app = new Hono();
    build(cache, app);
    const server = await serve(app.fetch);
    try {
      // identity: the server's own compression (Deno.serve's) would add to Vary and hide Content-Length.
      await body(
        (path, headers = {}) =>
          fetch(`${server.base}${path}`, { headers: { "accept-encoding": "identity", ...headers } }),
        clock,
      );
    } finally {
      await server.close();
      await cache.close();
    }
  }

  test("hono over HTTP: Vary names the key's headers; max-age is the ttl with Age; s-maxage; stale-while-revalidate", async () => {
    let runs = 0;
    await served(
      (cache, app) =>
        app.get(
          "/greet",
          cacheResponse({ cache, ttl: 60, sMaxAge: 300, staleTtl: 30, vary: ["Accept-Language"] }),
          (c) => c.text(`hello ${c.req.header("accept-language")} ${++runs}`),
        ),
      async (get, clock) => {
        const control = "public, max-age=60, s-maxage=300, stale-while-revalidate=30";
        const en = await get("/greet", { "accept-language": "en" });
        assert.equal(await en.text(), "hello en 1");
        assert.ok(varyOf(en).includes("accept-language"), `Vary: ${en.headers.get("vary")}`);
        assert.equal(en.headers.get("cache-control"), control);
        assert.equal(en.headers.get("age"), "0");
        const fr = await get("/greet", { "accept-language": "fr" });
        assert.equal(await fr.text(), "hello fr 2", "each language its own entry");
        assert.ok(varyOf(fr).includes("accept-language"));
        clock.advance(10_000);
        const hit = await get("/greet", { "accept-language": "en" });
        assert.equal(await hit.text(), "hello en 1");
        assert.equal(hit.headers.get("x-cache"), "HIT");
        assert.equal(hit.headers.get("age"), "10");
        assert.equal(hit.headers.get("cache-control"), control, "max-age is not shortened by the Age");
        clock.advance(55_000); // 65 s: in the grace window
        const stale = await get("/greet", { "accept-language": "en" });
        assert.equal(await stale.text(), "hello en 1");
        assert.equal(stale.headers.get("x-cache"), "STALE");
        assert.equal(stale.headers.get("age"), "65");
        assert.equal(stale.headers.get("cache-control"), control);
      },
    );
    assert.equal(runs, 3, "two loads and the stale entry's refresh");
  });

  test("hono over HTTP: a strong ETag; If-None-Match answers 304 without body on a HIT and a MISS, per variant", async () => {
    let runs = 0;
    await served(
      (cache, app) => {
        app.get(
          "/doc/:id",
          cacheResponse({ cache, key: "doc:{id}", tags: ["doc:{id}"], vary: ["accept-language"] }),
          (c) => (runs++, c.text(`doc ${c.req.param("id")} in ${c.req.header("accept-language")}`)),
        );
        app.put("/doc/:id", invalidateOnWrite({ cache, tags: ["doc:{id}"] }), (c) => c.text("ok"));
      },
      async (get) => {
        const en = { "accept-language": "en" };
        const first = await get("/doc/1", en);
        assert.equal(await first.text(), "doc 1 in en");
        const etag = first.headers.get("etag")!;
        assert.match(etag, /^"[^"]+"$/, "strong");
        const hit = await get("/doc/1", { ...en, "if-none-match": etag });
        assert.equal(hit.status, 304);
        assert.equal(await hit.text(), "");
        assert.equal(hit.headers.get("x-cache"), "HIT");
        assert.equal(hit.headers.get("etag"), etag);
        assert.ok(varyOf(hit).includes("accept-language"));
        assert.match(hit.headers.get("cache-control") ?? "", /max-age=300/);
        assert.equal(hit.headers.get("content-type"), null, "no representation headers on a 304");
        const listed = await get("/doc/1", { ...en, "if-none-match": `"other", W/${etag}` });
        assert.equal(listed.status, 304, "a list, compared weakly");
        await listed.body?.cancel();
        const fr = await get("/doc/1", { "accept-language": "fr", "if-none-match": etag });
        assert.equal(fr.status, 200, "another variant does not match the first one's ETag");
        assert.equal(await fr.text(), "doc 1 in fr");
        assert.notEqual(fr.headers.get("etag"), etag);
        const put = await fetch(new URL("/doc/1", first.url), { method: "PUT" });
        assert.equal(await put.text(), "ok");
        const miss = await get("/doc/1", { ...en, "if-none-match": etag });
        assert.equal(miss.status, 304, "the reloaded body is the same");
        assert.equal(miss.headers.get("x-cache"), "MISS");
        assert.equal(await miss.text(), "");
      },
    );
    assert.equal(runs, 3, "en, fr, and en again after the invalidation");
  });

  test("hono over HTTP: partial and 201 responses are not stored; bodies agree with Content-Encoding and Content-Length", async () => {
    const runs = { partial: 0, range: 0, created: 0 };
    const text = "All work and no play makes Jack a dull boy. ".repeat(40);
    const gzipped = async () =>
      new Uint8Array(
        await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip")))
          .arrayBuffer(),
      );
    let base = "";
    await served(
      (cache, app) => {
        app.get("/partial", cacheResponse({ cache }), (c) => {
          runs.partial++;
          return c.body("All ", 206, { "content-range": `bytes 0-3/${text.length}` });
        });
        app.get("/range", cacheResponse({ cache }), (c) => {
          runs.range++;
          return c.body("All ", 200, { "content-range": `bytes 0-3/${text.length}` });
        });
        app.get("/created", cacheResponse({ cache }), (c) => (runs.created++, c.text("made", 201)));
        // An origin that sends gzip; `fetch` hands the proxy below the decoded body under the gzip headers.
        app.get("/origin", async () =>
          new Response(await gzipped(), {
            headers: { "content-type": "text/plain", "content-encoding": "gzip" },
          }));
        app.get("/proxy", cacheResponse({ cache }), () => fetch(`${base}/origin`));
        // Encoded here, not decoded by anyone: stored encoded, with its own length.
        app.get(
          "/encoded",
          cacheResponse({ cache, vary: ["accept-encoding"] }),
          async () =>
            new Response(await gzipped(), {
              headers: {
                "content-type": "text/plain",
                "content-encoding": "gzip",
                "vary": "Accept-Encoding",
              },
            }),
        );
        app.get("/base", (c) => c.text(new URL(c.req.url).origin));
      },
      async (get) => {
        base = await (await get("/base")).text();
        for (let i = 0; i < 2; i++) {
          const partial = await get("/partial");
          assert.equal(partial.status, 206);
          assert.equal(await partial.text(), "All ");
          assert.equal(partial.headers.get("x-cache"), null);
          await (await get("/range")).text();
          await (await get("/created")).text();
        }
        assert.deepEqual(runs, { partial: 2, range: 2, created: 2 });
        for (const cacheStatus of ["MISS", "HIT"]) {
          const proxied = await get("/proxy");
          assert.equal(proxied.headers.get("x-cache"), cacheStatus);
          assert.equal(proxied.headers.get("content-encoding"), null, "stored decoded, and said so");
          assert.equal(await proxied.text(), text);
          const encoded = await get("/encoded", { "accept-encoding": "gzip" });
          assert.equal(encoded.headers.get("x-cache"), cacheStatus);
          assert.equal(encoded.headers.get("content-encoding"), "gzip");
          assert.equal(encoded.headers.get("content-length"), String((await gzipped()).byteLength));
          assert.equal(await encoded.text(), text, "the client decodes it");
        }
      },
    );
  });
}
