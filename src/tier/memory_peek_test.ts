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

Deno.test("memory peek: a hit skips reading tag versions found current before, until one of them changes or expires", async () => {
  let now = 1_000_000;
  const clock = { now: () => now };
  const store = memoryStore({ clock });
  let versionPeeks = 0;
  const peekDerived = store.peekDerived!.bind(store);
  store.peekDerived = ((key: string, at: number | undefined, derive: never) => (
    key.includes(":t:") && versionPeeks++, peekDerived(key, at, derive)
  )) as typeof store.peekDerived;
  const cache = await createCache({ store, clock, prefix: "p", tagTtl: 100 });
  let loads = 0;
  const read = cache.cacheRead(
    { key: "u:{id}", ttl: 1000, tags: ["a:{id}", "b:{id}", "c"] },
    ({ id }: { id: number }) => ({ id, load: ++loads }),
  );
  const versionKey = `p:v1:t:a:1`;
  const hits = async (what: string) => {
    await read({ id: 1 }); // loads, or validates the versions once
    await read({ id: 1 }); // validates the versions of what was loaded, or is the first hit that skips them
    const [loadsBefore, peeksBefore] = [loads, versionPeeks];
    for (let i = 0; i < 5; i++) await read({ id: 1 });
    assert.equal(loads, loadsBefore, `${what}: hits`);
    assert.equal(versionPeeks, peeksBefore, `${what}: no version read on those hits`);
  };
  const missAfter = async (what: string, change: () => unknown) => {
    await hits(what);
    await change();
    const before = loads;
    await read({ id: 1 });
    assert.equal(loads, before + 1, `${what}: the next call loads`);
  };
  await hits("warm");
  assert.ok((await store.getMany([versionKey]))[0], "the tag's version key is where the test changes it");
  assert.ok(versionPeeks > 0, "the first hit read the versions");
  await missAfter("invalidateTags", () => cache.invalidateTags(["a:1"]));
  await missAfter(
    "a version written over",
    () => store.setMany([{ key: versionKey, value: "other", ttlMs: 1e6 }]),
  );
  await missAfter("a version deleted", () => store.deleteMany([versionKey]));
  await missAfter("a version expired (tagTtl 100 s, the entry's ttl 1000 s)", () => now += 101_000);
  await missAfter("clear()", () => cache.clear());
  await hits("after all of it");
  await cache.close();
});

Deno.test("memory peek: a store that is not given the keys entries depend on never lets a hit skip their versions", async () => {
  const inner = memoryStore();
  // A wrapper that says it is not in process: entries are written without `dependsOn`, so the count of their
  // changes cannot cover them.
  const store = { ...inner, capabilities: { ...inner.capabilities, inProcess: false } };
  const cache = await createCache({ store });
  let loads = 0;
  const read = cache.cacheRead({ key: "u:{id}", ttl: 60, tags: ["t:{id}"] }, ({ id }: { id: number }) => ({
    id,
    load: ++loads,
  }));
  for (let i = 0; i < 3; i++) await read({ id: 1 });
  assert.equal(loads, 1);
  await cache.invalidateTags(["t:1"]);
  await read({ id: 1 });
  assert.equal(loads, 2, "the invalidation is seen");
  await cache.close();
});
