import assert from "node:assert/strict";
import { memoryStore } from "./memory_store.ts";
import type { Derivation } from "./store.ts";
import { ManualClock } from "../../tests/_helpers.ts";

Deno.test("memory store: bounded by entries, an entry never read since its write goes first", async () => {
  const store = memoryStore({ maxEntries: 3 });
  await store.setMany(["a", "b", "c"].map((key) => ({ key, value: key, ttlMs: 1000 })));
  await store.getMany(["a"]); // a was read while new: it moves to the main queue
  await store.setMany([{ key: "d", value: "d", ttlMs: 1000 }]);
  assert.deepEqual(await store.getMany(["a", "b", "c", "d"]), ["a", null, "c", "d"]);
  assert.equal(store.size, 3);
});

Deno.test("memory store: bounded by bytes, accounting survives overwrite and delete", async () => {
  const store = memoryStore({ maxBytes: 1000 });
  for (let i = 0; i < 100; i++) {
    await store.setMany([{ key: `k${i % 7}`, value: "x".repeat(50), ttlMs: 1000 }]);
  }
  await store.deleteMany(["k1", "k2"]);
  for (let i = 0; i < 20; i++) await store.setMany([{ key: `n${i}`, value: "x".repeat(100), ttlMs: 1000 }]);
  assert.ok(store.size <= 1000 / 200, `size ${store.size}`);
  assert.deepEqual(await store.setMany([{ key: "huge", value: "x".repeat(600), ttlMs: 1000 }]), [false]);
});

Deno.test("memory store: expires lazily by its clock, with no timers", async () => {
  const clock = new ManualClock();
  const store = memoryStore({ clock });
  await store.setMany([{ key: "a", value: "1", ttlMs: 100 }, { key: "b", value: "2", ttlMs: 1000 }]);
  clock.advance(100);
  assert.deepEqual(await store.getMany(["a", "b"]), [null, "2"]);
  assert.deepEqual(await store.scan!(""), ["b"]);
});

Deno.test("memory store: expiry is exact to the millisecond at any distance from when the store was made", async () => {
  const clock = new ManualClock();
  const store = memoryStore({ clock });
  const day = 86_400_000;
  const expiresAfter = async (key: string, ttlMs: number) => {
    await store.setMany([{ key, value: key, ttlMs }]);
    clock.advance(ttlMs - 1);
    assert.deepEqual(store.peek!([key]), [key], `${key}: live 1 ms before its expiry`);
    clock.advance(1);
    assert.deepEqual(store.peek!([key]), [null], `${key}: expired at its expiry`);
  };
  await expiresAfter("soon", 250);
  await expiresAfter("month", 30 * day); // past the range kept as small integers
  clock.advance(400 * day); // a store a year old
  await expiresAfter("later", 250);
  await expiresAfter("again a month", 30 * day);
  clock.advance(-430 * day - 2 * day); // the clock set back to two days before the store was made
  await expiresAfter("set back", 250);
  await store.setMany([{ key: "k", value: "v", ttlMs: 1000 }]);
  await store.deleteMany(["k"]);
  assert.deepEqual(store.peek!(["k"]), [null], "a dropped entry stays gone with the clock set back");
});

Deno.test("memory store: ifAbsent writes only when missing or expired", async () => {
  const clock = new ManualClock();
  const store = memoryStore({ clock });
  assert.deepEqual(await store.setMany([{ key: "t", value: "1", ttlMs: 10, ifAbsent: true }]), [true]);
  assert.deepEqual(await store.setMany([{ key: "t", value: "2", ttlMs: 10, ifAbsent: true }]), [false]);
  clock.advance(10);
  assert.deepEqual(await store.setMany([{ key: "t", value: "3", ttlMs: 10, ifAbsent: true }]), [true]);
  assert.deepEqual(await store.getMany(["t"]), ["3"]);
});

Deno.test("memory store: 100,000 inserts stay within the bound", async () => {
  const store = memoryStore({ maxEntries: 1000 });
  for (let i = 0; i < 100_000; i++) await store.setMany([{ key: `k${i}`, value: "v", ttlMs: 60_000 }]);
  assert.equal(store.size, 1000);
  assert.deepEqual(await store.getMany(["k99999", "k0"]), ["v", null]);
});

Deno.test("memory store: rejects bad bounds", () => {
  assert.throws(
    () => memoryStore({ maxEntries: 0 }),
    /maxEntries must be a positive integer, current value is 0/,
  );
  assert.throws(() => memoryStore({ maxBytes: NaN }), RangeError);
});

Deno.test("memory store: a write into a full store of recently used entries keeps the new entry", async () => {
  const store = memoryStore({ maxEntries: 3 });
  await store.setMany(["a", "b", "c"].map((key) => ({ key, value: key, ttlMs: 60_000 })));
  await store.getMany(["a", "b", "c"]); // every slot used: the hand gives each a second chance
  await store.setMany([{ key: "d", value: "d", ttlMs: 60_000 }]);
  assert.deepEqual(await store.getMany(["d"]), ["d"], "the new entry is not its own eviction's victim");
  assert.equal(store.size, 3);
});

Deno.test("memory store: S3-FIFO keeps a hot set through a scan of one-off keys, and an idle entry goes first", async () => {
  const store = memoryStore({ maxEntries: 100 });
  const put = (key: string) => store.setMany([{ key, value: "v", ttlMs: 60_000 }]);
  for (let i = 0; i < 50; i++) await put(`hot${i}`);
  for (let round = 0; round < 3; round++) store.peek!(Array.from({ length: 50 }, (_, i) => `hot${i}`));
  for (let i = 0; i < 1000; i++) await put(`scan${i}`); // each read never again
  const hot = store.peek!(Array.from({ length: 50 }, (_, i) => `hot${i}`));
  assert.equal(hot.filter((v) => v !== null).length, 50, "every hot entry survived the scan");
  assert.equal(store.size, 100);
});

Deno.test("memory store: a slot reads its key's value until it is written again, deleted, evicted, expired or closed", async () => {
  const clock = new ManualClock();
  const store = memoryStore({ clock, maxEntries: 10 });
  const derive = (raw: string) => ({ raw });
  const put = (key: string, value: string, ttlMs = 1000) => store.setMany([{ key, value, ttlMs }]);
  const slotFor = async (key: string, value: string, ttlMs?: number) => {
    await put(key, value, ttlMs);
    const slot = store.slotOf!(key)!;
    assert.deepEqual(store.peekSlot!(slot, undefined, derive), { raw: value });
    return slot;
  };
  assert.equal(store.slotOf!("missing"), undefined);

  const overwritten = await slotFor("a", "1");
  await put("a", "2");
  assert.equal(store.peekSlot!(overwritten, undefined, derive), null);
  assert.deepEqual(store.peekDerived!("a", undefined, derive), { raw: "2" });

  const deleted = await slotFor("b", "1");
  await store.deleteMany(["b"]);
  assert.equal(store.peekSlot!(deleted, undefined, derive), null);

  const expired = await slotFor("c", "1", 100);
  clock.advance(100);
  assert.equal(store.peekSlot!(expired, undefined, derive), null);
  assert.deepEqual(await store.getMany(["c"]), [null]);

  await put("d", "1");
  const evicted = store.slotOf!("d")!; // not a read: d stays one-off, the first to go
  for (let i = 0; i < 30; i++) await put(`filler${i}`, "x");
  assert.deepEqual(await store.getMany(["d"]), [null]);
  assert.equal(store.peekSlot!(evicted, undefined, derive), null);

  const closed = await slotFor("e", "1");
  await store.close!();
  assert.equal(store.peekSlot!(closed, undefined, derive), null);
});

Deno.test("memory store: a read through a slot counts as a read (the entry survives a scan)", async () => {
  const store = memoryStore({ maxEntries: 10 });
  await store.setMany([{ key: "hot", value: "h", ttlMs: 1000 }]);
  const slot = store.slotOf!("hot")!;
  store.peekSlot!(slot, undefined, String);
  for (let i = 0; i < 50; i++) await store.setMany([{ key: `scan${i}`, value: "x", ttlMs: 1000 }]);
  assert.deepEqual(await store.getMany(["hot"]), ["h"]);
  assert.equal(store.peekSlot!(slot, undefined, String), "h");
});

/** JSON kept parsed; `encode` gives canonical JSON back, so only canonical texts are kept decoded alone. */
const parsedJson: Derivation<unknown> = Object.assign((raw: string) => JSON.parse(raw), {
  encode: (tree: unknown) => JSON.stringify(tree),
});

Deno.test("memory store: a value its derivation re-encodes exactly is kept decoded alone, and read back as the same text", async () => {
  const store = memoryStore();
  const canonical = '{"id":1,"tags":["a","b"]}', spaced = '{ "id": 2 }';
  await store.setMany([
    { key: "c", value: canonical, ttlMs: 1000 },
    { key: "s", value: spaced, ttlMs: 1000 },
  ]);
  assert.deepEqual(store.peekDerived!("c", undefined, parsedJson), { id: 1, tags: ["a", "b"] });
  assert.deepEqual(store.peekDerived!("s", undefined, parsedJson), { id: 2 });
  // Read as text, both are what was written: one made again from its decoding, one kept as it was.
  assert.deepEqual(await store.getMany(["c", "s"]), [canonical, spaced]);
  assert.deepEqual(store.peek!(["c", "s"]), [canonical, spaced]);
  // Conditional writes and deletes compare against the same text.
  assert.deepEqual(await store.setMany([{ key: "c", value: "x", ttlMs: 1000, ifStartsWith: '{"id":2' }]), [
    false,
  ]);
  assert.equal(await store.deleteIfStartsWith("c", '{"id":1,'), true);
  assert.deepEqual(await store.getMany(["c"]), [null]);
  // Another derivation of a value kept decoded alone sees the text, and keeps it (it cannot re-encode).
  const length: Derivation<number> = (raw) => raw.length;
  await store.setMany([{ key: "d", value: canonical, ttlMs: 1000 }]);
  store.peekDerived!("d", undefined, parsedJson);
  assert.equal(store.peekDerived!("d", undefined, length), canonical.length);
  assert.deepEqual(await store.getMany(["d"]), [canonical]);
});

Deno.test("memory store: a value kept decoded alone counts once toward maxBytes", async () => {
  const value = JSON.stringify({ text: "x".repeat(100) });
  const size = (2 + value.length * 2) * 2; // what a write of key "k1" counts: the text and its decoding
  const store = memoryStore({ maxBytes: 3 * size - 1 });
  await store.setMany([{ key: "k1", value, ttlMs: 1000 }, { key: "k2", value, ttlMs: 1000 }]);
  store.peekDerived!("k1", undefined, parsedJson);
  store.peekDerived!("k2", undefined, parsedJson);
  await store.setMany([{ key: "k3", value, ttlMs: 1000 }]);
  assert.equal(
    store.size,
    3,
    "two entries counted once and one counted twice fit where three twice would not",
  );
});

Deno.test("memory store: a key evicted from the small queue and written again goes to the main queue, before and after its ring of evicted keys wraps", async () => {
  // 10 entries: a small queue of 1 (while the main queue is empty, all of them), and 9 evicted keys remembered.
  const store = memoryStore({ maxEntries: 10 });
  const put = (key: string) => store.setMany([{ key, value: key, ttlMs: 60_000 }]);
  for (let i = 0; i < 10; i++) await put(`a${i}`);
  for (let i = 0; i < 3; i++) await put(`b${i}`); // evicts a0, a1, a2: the ring holds 3 keys
  await put("a1"); // remembered: to the main queue
  for (let i = 0; i < 30; i++) await put(`scan${i}`); // 30 evictions: the ring wraps, the last 9 remembered
  await put("scan15"); // remembered after the wrap: to the main queue
  await put("a0"); // forgotten since: new again, to the small queue
  for (let i = 0; i < 30; i++) await put(`x${i}`); // one-off keys pass through the small queue
  assert.deepEqual(store.peek!(["a1", "scan15", "a0"]), ["a1", "scan15", null]);
  assert.equal(store.size, 10);
});

Deno.test("memory store: one configured for many entries costs what it holds, not its bound", async () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, "run with --v8-flags=--expose-gc (npm test does) to measure retained memory");
  gc();
  const before = Deno.memoryUsage().heapUsed;
  const store = memoryStore({ maxEntries: 10_000_000 });
  await store.setMany(Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: "v", ttlMs: 60_000 })));
  gc();
  const grown = Deno.memoryUsage().heapUsed - before;
  assert.equal(store.size, 100);
  assert.ok(
    grown < 1 << 20,
    `a store holding 100 entries grew the heap by ${(grown / 2 ** 20).toFixed(1)} MiB`,
  );
});

Deno.test("memory store: a value built by concatenation is held as one string, not as its pieces", async () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, "run with --v8-flags=--expose-gc (npm test does) to measure retained memory");
  const n = 20_000;
  // As an entry's encoding is built: a template of many pieces (here 24), 120 characters in all.
  const value = (i: number) =>
    `["svc4","${i.toString(16).padStart(16, "0")}",${1e12 + i},${2e12 + i},${3e12 + i},${4e12 + i},2,3600,0,${
      JSON.stringify([])
    },${JSON.stringify([])},${JSON.stringify({ id: i, name: `user ${i}` })}]`;
  const store = memoryStore({ maxEntries: n });
  gc();
  const before = Deno.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) await store.setMany([{ key: `k${i}`, value: value(i), ttlMs: 60_000 }]);
  gc();
  const perEntry = (Deno.memoryUsage().heapUsed - before) / n;
  assert.equal(store.size, n);
  assert.deepEqual(store.peek!(["k7"]), [value(7)]);
  // Flat: the text (about 140 B), its key, slot and map entry. As pieces: about 650 B more.
  assert.ok(perEntry < 600, `an entry of 120 characters holds ${perEntry.toFixed(0)} B of heap`);
});

Deno.test("memory store: overwriting a key of a full store evicts nothing, and a too large overwrite removes it", async () => {
  const store = memoryStore({ maxEntries: 3, maxValueBytes: 10 });
  await store.setMany(["a", "b", "c"].map((key) => ({ key, value: key, ttlMs: 1000 })));
  for (let i = 0; i < 5; i++) await store.setMany([{ key: "b", value: `b${i}`, ttlMs: 1000 }]);
  assert.deepEqual(await store.getMany(["a", "b", "c"]), ["a", "b4", "c"]);
  assert.deepEqual(await store.setMany([{ key: "b", value: "x".repeat(11), ttlMs: 1000 }]), [false]);
  assert.deepEqual(await store.getMany(["a", "b", "c"]), ["a", null, "c"]);
  assert.equal(store.size, 2);
  // Multi-byte text is measured in UTF-8: 4 × 3 bytes is over 10, though 4 UTF-16 units are not.
  assert.deepEqual(await store.setMany([{ key: "d", value: "€€€€", ttlMs: 1000 }]), [false]);
  assert.deepEqual(await store.setMany([{ key: "d", value: "€€€", ttlMs: 1000 }]), [true]);
});

Deno.test("memory store: keys an entry depends on are held beside it, not as entries, and go when it is evicted", async () => {
  const store = memoryStore({ maxEntries: 3 });
  const entry = (key: string, dependsOn: string[]) => ({ key, value: key, ttlMs: 1000, dependsOn });
  await store.setMany([{ key: "v1", value: "1", ttlMs: 1000 }, { key: "v2", value: "2", ttlMs: 1000 }]);
  await store.setMany([entry("a", ["v1", "v2"]), entry("b", ["v1"])]);
  await store.setMany([{ key: "x", value: "x", ttlMs: 1000 }]);
  assert.deepEqual(
    await store.getMany(["v1", "v2", "a", "b"]),
    ["1", "2", "a", "b"],
    "versions take no room",
  );
  await store.deleteMany(["x"]);
  // Deleted (a reload will follow, having read v2 as current): v2 is kept, as an entry.
  await store.deleteMany(["a"]);
  assert.deepEqual(await store.getMany(["v1", "v2", "b"]), ["1", "2", "b"]);
  await store.setMany([entry("a", ["v1", "v2"])]);
  // Evicted: what only it depended on goes with it; v1, still needed by the survivor, stays.
  await store.setMany([{ key: "c", value: "c", ttlMs: 1000 }, { key: "d", value: "d", ttlMs: 1000 }]);
  assert.equal(await store.getMany(["a"]).then(([v]) => v), null);
  assert.deepEqual(await store.getMany(["v1", "v2", "b", "c", "d"]), ["1", null, "b", "c", "d"]);
  assert.equal(store.size, 4, "three entries and v1");
});

Deno.test("memory store: clearScope drops a namespace and those under it, without touching a slot", async () => {
  const store = memoryStore();
  const scoped = (key: string, scope?: string) => ({ key, value: key, ttlMs: 60_000, scope });
  await store.setMany([
    scoped("a:e:1", "a:"),
    scoped("a:n:x:e:1", "a:n:x:"),
    scoped("a:n:xy:e:1", "a:n:xy:"),
    scoped("b:e:1", "b:"),
    scoped("a:t:tag"), // unscoped: a tag version outlives a clear
    { ...scoped("a:e:m", "a:"), value: "~marker" },
  ]);
  await store.clearScope!("a:n:x:");
  assert.deepEqual(await store.getMany(["a:e:1", "a:n:x:e:1", "a:n:xy:e:1"]), ["a:e:1", null, "a:n:xy:e:1"]);
  assert.equal(store.size, 5, "a cleared key is dropped when next looked at, not by the clear");
  await store.clearScope!("a:");
  assert.deepEqual(await store.peek!(["a:e:1", "a:n:xy:e:1", "b:e:1", "a:t:tag"]), [
    null,
    null,
    "b:e:1",
    "a:t:tag",
  ]);
  assert.deepEqual((await store.scan!("")).sort(), ["a:t:tag", "b:e:1"], "a scan lists no cleared key");
  // A load that wrote its marker before the clear cannot store over it afterwards.
  assert.deepEqual(await store.setMany([{ ...scoped("a:e:m", "a:"), ifStartsWith: "~marker" }]), [false]);
  // Writes after the clear start a new generation of the scope, which the old clear does not reach.
  await store.setMany([scoped("a:e:1", "a:"), scoped("a:n:x:e:1", "a:n:x:")]);
  assert.deepEqual(await store.getMany(["a:e:1", "a:n:x:e:1"]), ["a:e:1", "a:n:x:e:1"]);
  await store.clearScope!("a:");
  assert.deepEqual(await store.getMany(["a:e:1", "a:n:x:e:1", "b:e:1"]), [null, null, "b:e:1"]);
});

Deno.test("memory store: cleared slots are reclaimed by writes and eviction, ahead of live ones", async () => {
  const store = memoryStore({ maxEntries: 100 });
  for (let i = 0; i < 100; i++) {
    await store.setMany([{ key: `c${i}`, value: "x", ttlMs: 60_000, scope: "c:" }]);
  }
  await store.getMany(Array.from({ length: 100 }, (_, i) => `c${i}`)); // read: each would get second chances
  await store.clearScope!("c:");
  for (let i = 0; i < 100; i++) {
    await store.setMany([{ key: `l${i}`, value: "x", ttlMs: 60_000, scope: "l:" }]);
  }
  assert.equal(store.size, 100);
  assert.deepEqual(
    (await store.scan!("l")).length,
    100,
    "every live entry kept: the cleared ones went first",
  );
});

Deno.test("memory store: refreshMany replaces both ends of a value only when they are as expected", async () => {
  const store = memoryStore();
  await store.setMany([{ key: "k", value: "[h1|middle|t1]", ttlMs: 60_000 }]);
  const refresh = {
    key: "k",
    ifStartsWith: "[h1|",
    ifEndsWith: "|t1]",
    head: "[h2é|",
    tail: "|t2]",
    ttlMs: 60_000,
  };
  assert.deepEqual(
    await store.refreshMany!([
      { ...refresh, ifStartsWith: "[hX|" },
      { ...refresh, ifEndsWith: "|tX]" },
      { ...refresh, key: "missing" },
      { ...refresh, ifStartsWith: "[h1|middle", ifEndsWith: "middle|t1]" }, // the ends overlap
    ]),
    [false, false, false, false],
  );
  assert.deepEqual(await store.getMany(["k"]), ["[h1|middle|t1]"]);
  assert.deepEqual(await store.refreshMany!([refresh]), [true]);
  assert.deepEqual(await store.getMany(["k"]), ["[h2é|middle|t2]"]);
});
