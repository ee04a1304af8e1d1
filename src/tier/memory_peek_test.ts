import assert from "node:assert/strict";
import { createCache, type LoaderContext } from "../../mod.ts";
import { memoryStore } from "../store/memory_store.ts";

Deno.test("memory peek: an entry whose loader added tags is a synchronous hit, and an invalidation of an added tag makes it a miss", async () => {
  const store = memoryStore();
  let reads = 0;
  const getMany = store.getMany.bind(store);
  store.getMany = (...args: Parameters<typeof getMany>) => (reads++, getMany(...args));
  const cache = await createCache({ store });
  let loads = 0;
  const load = (ctx: LoaderContext) => (ctx.addTags("org:7"), { n: ++loads });
  const read = () => cache.getOrSet("user:1", load, { ttl: 60, tags: ["user:1"] });
  // The first load cannot have read org:7's version before it ran: its entry is not served, the second is.
  await read();
  await read();
  assert.equal(loads, 2);
  const before = reads;
  for (let i = 0; i < 5; i++) assert.deepEqual(await read(), { n: 2 });
  assert.equal(loads, 2, "served from the cache");
  assert.equal(reads - before, 0, "no asynchronous store read: the hits were peeks");
  await cache.invalidateTags(["org:7"]);
  assert.deepEqual(await read(), { n: 3 }, "the added tag's invalidation is honoured by the peek");
  await read();
  const after = reads;
  assert.deepEqual(await read(), { n: 3 });
  assert.equal(reads - after, 0);
  await cache.close();
});
