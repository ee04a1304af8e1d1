import assert from "node:assert/strict";
import fc from "fast-check";
import { runInNewContext } from "node:vm";
import { cloneJson, Codec } from "./codec.ts";

/** Every object of a tree, for checking that a copy shares none. */
function objectsOf(value: unknown, into = new Set<object>()): Set<object> {
  if (typeof value === "object" && value !== null) {
    into.add(value);
    for (const child of Object.values(value)) objectsOf(child, into);
  }
  return into;
}

Deno.test("codec: cloneJson gives an equal tree sharing no object with the original", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (tree) => {
      const parsed = JSON.parse(JSON.stringify(tree));
      const copy = cloneJson(parsed);
      assert.deepStrictEqual(copy, parsed);
      const originals = objectsOf(parsed);
      for (const object of objectsOf(copy)) assert.ok(!originals.has(object));
    }),
    { numRuns: 500 },
  );
});

Deno.test("codec: cloneJson keeps a __proto__ key as data and never changes a prototype", () => {
  const parsed = JSON.parse('{"__proto__":{"polluted":true},"list":[{"__proto__":[1]}]}');
  const copy = cloneJson(parsed) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(copy), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(copy, "__proto__")?.value, { polluted: true });
  assert.notEqual(Object.getOwnPropertyDescriptor(copy, "__proto__")?.value, parsed["__proto__"]);
  const item = (copy.list as Record<string, unknown>[])[0];
  assert.equal(Object.getPrototypeOf(item), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(item, "__proto__")?.value, [1]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("codec: a value that would not come back exactly is refused or kept, never changed", () => {
  const codec = new Codec();
  const roundTrip = (value: unknown) => {
    const { text, json } = codec.serialize(value, "f");
    return codec.revive(JSON.parse(text), json);
  };
  const named = Object.assign([1, 2], { extra: 3 });
  for (const value of [named, { deep: named }, new Map([["k", named]]), [new Date(0), named]]) {
    assert.throws(() => codec.serialize(value, "f"), {
      name: "TypeError",
      message: /Cannot cache the result of f: an array with named properties cannot be stored exactly/,
    });
  }
  assert.throws(() => codec.serialize(Object.assign([1], { [Symbol("s")]: 1 }), "f"), TypeError);
  // deno-lint-ignore no-sparse-arrays
  const sparse = Object.assign([1, , 3], {});
  assert.deepEqual(roundTrip(sparse), sparse, "holes alone are kept (devalue)");
  const bare = Object.assign(Object.create(null), {
    a: 1,
    nested: Object.assign(Object.create(null), { b: 2 }),
  });
  const back = roundTrip({ x: bare }) as { x: { a: number; nested: object } };
  assert.equal(Object.getPrototypeOf(back.x), null, "a null prototype is kept");
  assert.equal(Object.getPrototypeOf(back.x.nested), null);
  assert.deepEqual({ ...back.x, nested: { ...back.x.nested } }, { a: 1, nested: { b: 2 } });
});

Deno.test("codec: a subclass of a built-in, or a built-in with properties of its own, is refused (it would come back as the bare built-in)", () => {
  const codec = new Codec();
  class Registry extends Map<string, number> {}
  class Path extends Array<string> {}
  class Tags extends Set<string> {}
  class Moment extends Date {}
  class Bytes extends Uint8Array {}
  const subclasses: [unknown, RegExp][] = [
    [
      new Registry([["a", 1]]),
      /a Registry \(a subclass of Map\) cannot be stored exactly: it would come back as a Map/,
    ],
    [Path.from(["a"]), /a Path \(a subclass of Array\)/],
    [{ nested: [Path.from(["a"])] }, /a Path \(a subclass of Array\)/],
    [new Tags(["a"]), /a Tags \(a subclass of Set\)/],
    [new Moment(0), /a Moment \(a subclass of Date\)/],
    [new Bytes(2), /a Bytes \(a subclass of Uint8Array\)/],
    [Object.assign(new Date(0), { tz: "Europe/Paris" }), /a Date with properties of its own/],
    [Object.assign(new Map(), { meta: 1 }), /a Map with properties of its own/],
    [Object.assign(new Set(), { [Symbol("s")]: 1 }), /a Set with properties of its own/],
    [Object.assign(/a/g, { lastIndex: 1 }), /a RegExp with properties of its own/],
  ];
  for (const [value, message] of subclasses) {
    assert.throws(() => codec.serialize(value, "f"), { name: "TypeError", message }, String(message));
  }
  // The built-ins themselves still round-trip, also another realm's (an edge sandbox's host hands out its own).
  const back = (value: unknown) => {
    const { text, json } = codec.serialize(value, "f");
    return codec.revive(JSON.parse(text), json);
  };
  const builtins = [new Map([["a", 1]]), ["a"], new Set(["a"]), new Date(0), new Uint8Array([1, 2]), /a/g];
  for (const value of builtins) assert.deepEqual(back(value), value);
  // Deno's URL and URLSearchParams carry symbol-keyed fields of their own: they are described by their text.
  assert.equal(String(back(new URL("https://a.example/p?q=1"))), "https://a.example/p?q=1");
  assert.equal(String(back(new URLSearchParams("a=1&b=2"))), "a=1&b=2");
  // A registered type takes a subclass before it is refused.
  const registered = new Codec({
    Registry: [
      (v) => v instanceof Registry && [...v],
      (entries: [string, number][]) => new Registry(entries),
    ],
  });
  // Also an array with fields of its own.
  class Polyline extends Array<number> {
    closed = true;
  }
  const paths = new Codec({
    Polyline: [
      (v) => v instanceof Polyline && { points: [...v], closed: v.closed },
      (d: { points: number[]; closed: boolean }) =>
        Object.assign(Polyline.from(d.points), { closed: d.closed }),
    ],
  });
  const path = Object.assign(Polyline.from([1, 2]), { closed: false });
  const pathBack = paths.revive(JSON.parse(paths.serialize(path, "f").text), false) as Polyline;
  assert.ok(pathBack instanceof Polyline && pathBack.closed === false && pathBack.length === 2);
  // A subclass whose constructor is named as the built-in is still one (this realm's built-in is in its chain).
  function Sub() {}
  Sub.prototype = Object.create(Map.prototype); // inherits Map's constructor, and so its name
  assert.throws(() => codec.serialize(Reflect.construct(Map, [], Sub), "f"), /a Map \(a subclass of Map\)/);
  assert.throws(
    () => codec.serialize(Object.assign(new URL("https://a.example"), { tag: 1 }), "f"),
    /a URL with/,
  );
  const { text } = registered.serialize(new Registry([["a", 1]]), "f");
  const revived = registered.revive(JSON.parse(text), false);
  assert.ok(revived instanceof Registry);
  assert.deepEqual([...revived], [["a", 1]]);
  const [array, map, date, bytes] = runInNewContext(
    `[["a", [1]], new Map([["a", 1]]), new Date(0), new Uint8Array([1, 2])]`,
  );
  assert.notEqual(Object.getPrototypeOf(array), Array.prototype, "another realm's");
  assert.deepEqual(back(array), ["a", [1]]);
  assert.deepEqual(back(map), new Map([["a", 1]]));
  assert.deepEqual(back(date), new Date(0));
  assert.deepEqual(back(bytes), new Uint8Array([1, 2]));
});
