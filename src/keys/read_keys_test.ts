import assert from "node:assert/strict";
import { type KeySpaces, ReadKeys, type ReadPlan } from "./read_keys.ts";
import { compileTemplate } from "./template.ts";
import { compileTags } from "./tags.ts";
import { encodeEntry } from "../entry/entry.ts";
import { entryMeta } from "../../tests/_helpers.ts";

const meta = entryMeta();
const entryOf = (value: unknown) => encodeEntry(meta, { text: JSON.stringify(value), json: true });
/** What plans read of a cache: its key names and its store's bound. */
const cache: KeySpaces = {
  keys: {
    entryKey: (logical: string) => `e:${logical}`,
    tagKey: (tag: string) => `t:${tag}`,
    generationKeys: ["g"],
  },
  store: { capabilities: {} } as KeySpaces["store"],
  diagnostics: { warnOnce() {} },
};
const readKeys = () =>
  new ReadKeys<{ id: number }>(
    "fn",
    compileTemplate("doc:{id}", "fn"),
    undefined,
    compileTags(["doc:{id}"], "fn"),
  );

Deno.test("read keys: a remembered plan keeps the decoding of an unchanged text, and only of that text", () => {
  const keys = readKeys();
  keys.plan(cache, { id: 1 });
  const plan = keys.plan(cache, { id: 1 });
  assert.equal(keys.plan(cache, { id: 1 }), plan, "the remembered plan");
  const raw = entryOf({ n: 1 });
  const entry = keys.decode(plan, raw)!;
  assert.ok(entry.shared, "kept, so handed out as copies");
  assert.equal(keys.decode(plan, raw.slice(0, 10) + raw.slice(10)), entry, "the same text: not parsed again");
  assert.deepEqual(keys.decode(plan, entryOf({ n: 2 }))!.parsed, { n: 2 });
  assert.equal(keys.decode(plan, "damaged"), undefined);
  const once = keys.plan(cache, { id: 2 }); // not remembered yet: its decoding is the caller's alone
  assert.equal(keys.decode(once, raw)!.shared, false);
});

Deno.test("read keys: the memo starts over before its kept texts pass their bound, whatever their size", () => {
  const keys = readKeys();
  const big = entryOf({ text: "x".repeat(512 << 10) }); // half a million code units per entry
  const plans: ReadPlan[] = [];
  for (let id = 0; id < 16; id++) {
    keys.plan(cache, { id });
    const plan = keys.plan(cache, { id });
    keys.decode(plan, big);
    plans.push(plan);
    // Plans still in the memo that keep a decoding: their texts stay within the documented 2 Mi code units.
    const kept = plans.filter((p, k) => p.decoded !== undefined && keys.plan(cache, { id: k }) === p);
    assert.ok(kept.length * big.length <= 2 << 20, `${kept.length} large texts kept after ${id + 1}`);
    if (id === 0) assert.equal(kept.length, 1, "a first large entry is kept");
  }
});

Deno.test("read keys: with a tags function, a remembered plan serves a call while the function returns the same tags", () => {
  let calls = 0;
  const keys = new ReadKeys<{ id: number; org: unknown }>(
    "fn",
    compileTemplate("doc:{id}", "fn"),
    undefined,
    compileTags(({ org }: { org: unknown }) => (calls++, org === "bad" ? [""] : [`org:${org}`]), "fn"),
  );
  keys.plan(cache, { id: 1, org: 7 }); // made, and remembered
  const first = keys.plan(cache, { id: 1, org: 7 });
  assert.deepEqual([first.keys, first.remembered], [["e:doc:1", "g", "t:org:7"], true]);
  assert.equal(keys.plan(cache, { id: 1, org: 7 }), first, "the same tags: the remembered plan");
  const moved = keys.plan(cache, { id: 1, org: 8 });
  assert.deepEqual(moved.keys, ["e:doc:1", "g", "t:org:8"], "other tags: a plan with their keys");
  const again = keys.plan(cache, { id: 1, org: 8 });
  assert.deepEqual([again.keys, again.remembered], [moved.keys, true], "remembered in its turn");
  assert.deepEqual(keys.plan(cache, { id: 1, org: 7 }).keys, first.keys, "and the first tags again");
  assert.equal(calls, 6, "the function is called once per call");
  assert.throws(
    () => keys.plan(cache, { id: 1, org: "bad" }),
    TypeError,
    "a bad answer is refused on a remembered key",
  );
});
