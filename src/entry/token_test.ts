import assert from "node:assert/strict";
import { createCache } from "../api/create_cache.ts";
import { memoryStore } from "../store/memory_store.ts";
import { randomToken, tokenFor } from "./token.ts";
import type { StoreWrite } from "../store/store.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

Deno.test("tokens: writes to a memory store shared by two caches draw nothing from Web Crypto, and every token is new and of one length", async () => {
  const store = memoryStore({ maxEntries: 20 });
  const written: string[] = [];
  const setMany = store.setMany.bind(store);
  store.setMany = (
    writes: readonly StoreWrite[],
  ) => (written.push(...writes.map((w) => w.value)), setMany(writes));
  const a = await createCache({ prefix: "t", store, logger: quiet, lock: true });
  const b = await createCache({ prefix: "t", store, logger: quiet, lock: true });
  const original = crypto.getRandomValues;
  let draws = 0;
  crypto.getRandomValues = ((array: Uint8Array) => (draws++, original.call(crypto, array))) as never;
  let loads = 0;
  try {
    for (let round = 0; round < 3; round++) {
      for (const cache of [a, b]) {
        for (let i = 0; i < 30; i++) { // more keys than the store holds: evictions, claims again
          await cache.getOrSet(`k${i}`, () => (loads++, i), { ttl: 60, tags: [`tag${i % 4}`] });
        }
        await cache.invalidateTags(["tag1"]);
        await cache.invalidateTags(["tag2"], { soft: true });
      }
    }
  } finally {
    crypto.getRandomValues = original;
  }
  assert.equal(draws, 0, "no write to an in-process store draws random values");
  assert.ok(loads >= 100, `loads (the store is smaller than the keys): ${loads}`);
  assert.ok(written.length > 200, `values written: ${written.length}`);
  // Entries (`["svc4","<token>",…`), loading markers (`~<token>`), tag versions (`<token>`, revised:
  // `<token>~<token>`), lock owners (`<token>`): no two writes carry the same value.
  assert.equal(new Set(written).size, written.length, "every written value is new");
  for (const value of written) {
    const token = value.match(/^\["svc4","([^"]*)"/)?.[1] ?? value.replace(/^~/, "").split("~").at(-1)!;
    assert.match(token, /^[0-9a-f]{16}$/, value.slice(0, 40));
  }
  await a.close(), await b.close();
});

Deno.test("tokens: a store without its own tokens gets 64 random bits, 16 hex digits", () => {
  const remote = { ...memoryStore(), uniqueToken: undefined };
  const seen = new Set(Array.from({ length: 1000 }, () => tokenFor(remote)));
  assert.equal(seen.size, 1000);
  for (const token of seen) assert.match(token, /^[0-9a-f]{16}$/);
  assert.match(randomToken(), /^[0-9a-f]{16}$/);
});
