import assert from "node:assert/strict";
import {
  decodeEntry,
  encodeEntry,
  hasAddedTags,
  isLoadingMarker,
  loadingMarker,
  reencodeEntry,
  writeGuard,
} from "./entry.ts";
import { Codec } from "./codec.ts";
import fc from "fast-check";
import { entryMeta } from "../../tests/_helpers.ts";

const codec = new Codec();
const serialize = (value: unknown, what: string) => codec.serialize(value, what);

const meta = entryMeta({
  negative: true,
  loadMs: 12.5,
  versions: ["ab", "cd"],
  dependencies: ["g", "t:user:1"],
});

Deno.test("entry: round-trips plain JSON and devalue values, payloads may hold separators", () => {
  for (
    const value of [{ a: "x\n|y]", b: [1, null] }, new Map([[1, new Date(0)]]), undefined, [1n, -0, NaN]]
  ) {
    for (const added of [false, true]) {
      const text = encodeEntry({ ...meta, added }, serialize(value, "fn"));
      const decoded = decodeEntry(text)!;
      const { parsed: _p, json: _j, shared: _s, etag: _e, ...rest } = decoded;
      assert.deepEqual(rest, { ...meta, added });
      assert.deepEqual(codec.revive(decoded.parsed, decoded.json), value);
      assert.equal(hasAddedTags(text), added, "the flag is read without parsing");
    }
  }
});

Deno.test("entry: a decoded JSON entry re-encodes to the exact text it came from; any other, to the same entry", () => {
  const entryOf = (value: unknown, negative: boolean) => {
    try {
      const payload = serialize(value, "fn");
      return { text: encodeEntry({ ...meta, negative }, payload), json: payload.json };
    } catch {
      return undefined; // not serializable: never stored
    }
  };
  // fc.jsonValue() also yields -0, which JSON cannot keep, so such a value takes devalue's path: only the
  // entries that took the JSON path are held to the exact text.
  fc.assert(
    fc.property(fc.jsonValue(), fc.boolean(), (value, negative) => {
      const entry = entryOf(value, negative);
      if (entry?.json) assert.equal(reencodeEntry(decodeEntry(entry.text, true)), entry.text);
    }),
    { numRuns: 500, examples: [[{ "<": false, "": -0 }, false]] },
  );
  // devalue escapes some characters JSON.stringify does not ("<" as \u003C): not always the same text, so a
  // store checks before it keeps the decoding alone; the entry it stands for is the same.
  fc.assert(
    fc.property(fc.anything({ withDate: true, withMap: true, withSet: true, withBigInt: true }), (value) => {
      const text = entryOf(value, false)?.text;
      if (text !== undefined) {
        assert.deepEqual(decodeEntry(reencodeEntry(decodeEntry(text))), decodeEntry(text));
      }
    }),
    { numRuns: 500 },
  );
  assert.equal(
    reencodeEntry(decodeEntry("not an entry")),
    "",
    "a text that did not decode is not given back",
  );
});

Deno.test("entry: plain JSON uses the JSON fast path; anything JSON would change does not", () => {
  assert.equal(serialize({ a: [1, "x", null, true], b: { c: 1.5 } }, "fn").json, true);
  const shared = { x: 1 };
  for (const v of [new Date(0), { u: undefined }, [, 1], -0, NaN, { d: new Date(0) }, [shared, shared], 1n]) {
    assert.equal(serialize(v, "fn").json, false, String(v));
  }
});

Deno.test("entry: anything else reads as undefined", () => {
  for (
    const raw of [
      "",
      "garbage",
      '["svc4","t",1,2',
      '["svc3","t",1,2,2,3,0,60,0,[],1]',
      '["svc4",1,2,2,3,0,60,0,[],[],1]',
      '["svc4","t","1",2,2,3,0,60,0,[],[],1]',
      '["svc4","t",1,2,2,3,0,60,0,"v",[],1]',
      '["svc4","t",1,2,2,3,0,60,0,[],"d",1]',
      '["svc4","t",1,2,2,3,0,60,[],[],1]',
      '["svc4","t",1,2,2,3,0,60,0,[],[],1,2]',
      '["svc4","t",1,2,2,3,0,60,0,[],[],1,"e","f"]',
      "~0123456789abcdef",
      "svc1|1|2\n",
    ]
  ) {
    assert.equal(decodeEntry(raw), undefined, raw);
  }
});

Deno.test("entry: an etag is stored after the value, only when set; entries without one are unchanged", () => {
  const value = serialize({ a: 1 }, "fn");
  const plain = encodeEntry(meta, value);
  const tagged = encodeEntry({ ...meta, etag: '"v1"' }, value);
  assert.equal(tagged, plain.slice(0, -1) + ',"\\"v1\\""]');
  assert.equal(decodeEntry(plain)!.etag, undefined);
  assert.equal(decodeEntry(tagged)!.etag, '"v1"');
  assert.deepEqual(decodeEntry(tagged)!.parsed, { a: 1 });
  assert.equal(
    reencodeEntry(decodeEntry(tagged, true)),
    tagged,
    "a store keeping the decoding alone keeps it",
  );
});

Deno.test("entry: the write guard is the entry's head up to its token, or a whole loading marker", () => {
  const raw = encodeEntry(meta, serialize({ a: 1 }, "fn"));
  assert.equal(writeGuard(raw), '["svc4","0123456789abcdef"');
  assert.ok(raw.startsWith(writeGuard(raw)!));
  const other = encodeEntry({ ...meta, token: "fedcba9876543210" }, serialize({ a: 1 }, "fn"));
  assert.ok(!other.startsWith(writeGuard(raw)!), "another write's entry fails the guard");
  const marker = loadingMarker("0123456789abcdef");
  assert.ok(isLoadingMarker(marker));
  assert.equal(writeGuard(marker), marker);
  assert.equal(decodeEntry(marker), undefined);
  for (const foreign of ["garbage", '["svc3",1]', '["svc4",""']) assert.equal(writeGuard(foreign), undefined);
});
