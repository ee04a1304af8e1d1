/**
 * examples/cloudflare in workerd (`wrangler dev`, local): the products Worker with `cacheRead`, tags and
 * invalidation, its cache in a Durable Object, and with entry bodies in Workers KV. Exercised over HTTP: miss,
 * hit, a write that invalidates one product's tag, an invalidation of every product, and the loads counted.
 */
import assert from "node:assert/strict";
import { Wrangler } from "./_cloudflare.ts";

const EXAMPLE = new URL("../examples/cloudflare/", import.meta.url).pathname;

async function exercise(base: string) {
  const get = async (id: number) => {
    const res = await fetch(`${base}/products/${id}`);
    return [res.headers.get("x-cache"), (await res.json()).price];
  };
  const loads = async () => (await (await fetch(`${base}/metrics`)).json()).loads;
  assert.deepEqual(await get(1), ["MISS", 10]);
  assert.deepEqual(await get(1), ["HIT", 10]);
  assert.deepEqual(await get(2), ["MISS", 25]);
  assert.equal(await loads(), 2, "two loads for three reads");
  const put = await fetch(`${base}/products/1`, { method: "PUT", body: JSON.stringify({ price: 12 }) });
  assert.equal((await put.json()).delivered, true, "the invalidation reached the object");
  assert.deepEqual(await get(1), ["MISS", 12], "the write invalidated product:1");
  assert.deepEqual(await get(1), ["HIT", 12], JSON.stringify(await (await fetch(`${base}/metrics`)).json()));
  assert.deepEqual(await get(2), ["HIT", 25], "product:2 kept");
  const all = await fetch(`${base}/products/invalidate`, { method: "POST" });
  assert.equal((await all.json()).delivered, true);
  assert.deepEqual(await get(1), ["MISS", 12]);
  assert.deepEqual(await get(2), ["MISS", 25]);
  assert.equal(await loads(), 5);
}

for (
  const [what, config] of [["a Durable Object", "wrangler.toml"], [
    "KV + a Durable Object",
    "wrangler.kv.toml",
  ]]
) {
  Deno.test({
    name: `cloudflare example: cacheRead, tags and invalidation in workerd, cache in ${what}`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const wrangler = await Wrangler.start(EXAMPLE, [config], "/metrics");
      try {
        await exercise(wrangler.base);
      } finally {
        await wrangler.stop();
      }
    },
  });
}

Deno.test({
  name:
    "cloudflare example: the Cache API tier answers from the data center within its bound, purged by local writes",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const wrangler = await Wrangler.start(EXAMPLE, ["wrangler.toml"], "/metrics");
    const base = wrangler.base;
    try {
      const get = async (id: number) => {
        const res = await fetch(`${base}/tiered/products/${id}`);
        return [res.headers.get("x-cache-tier"), (await res.json()).price];
      };
      const loads = async () => (await (await fetch(`${base}/metrics`)).json()).loads;
      assert.deepEqual(await get(2), [null, 25], "first: through to the shared cache");
      await waitForTier(() => get(2), "kept");
      const before = await loads();
      assert.deepEqual(await get(2), ["HIT", 25]);
      assert.equal(await loads(), before, "served by the tier, nothing loaded");
      // A write elsewhere: the shared cache is invalidated, this data center's copy is not told.
      const change = await fetch(`${base}/products/2`, {
        method: "PUT",
        body: JSON.stringify({ price: 30 }),
      });
      await change.body?.cancel(); // this one purges the tiered URL here: read-your-writes in this data center
      assert.deepEqual(await get(2), [null, 30], "a local write purged the copy");
      await waitForTier(() => get(2), "kept again");
      const loadsBefore = await loads();
      const elsewhere = await fetch(`${base}/products/invalidate`, { method: "POST" });
      await elsewhere.body?.cancel();
      const since = Date.now();
      const seen = await get(2);
      if (Date.now() - since < 1500) assert.deepEqual(seen, ["HIT", 30], "within the bound: the kept copy");
      await new Promise((r) => setTimeout(r, 1600));
      assert.deepEqual(await get(2), [null, 30], "past the bound: not served from the tier");
      assert.equal(await loads(), loadsBefore + 1, "the shared cache saw the invalidation and loaded");
    } finally {
      await wrangler.stop();
    }
  },
});

/** Reads until the tier answers (its write is in the background of the first response). */
async function waitForTier(read: () => Promise<unknown[]>, what: string) {
  for (let i = 0; i < 50; i++) {
    if ((await read())[0] === "HIT") return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`the tier never answered (${what})`);
}
