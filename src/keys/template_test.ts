import assert from "node:assert/strict";
import fc from "fast-check";
import { compileTemplate, fitKey, renderTemplate, renderValue, utf8Length } from "./template.ts";

const render = (t: string, arg: unknown, what = "fn") => renderTemplate(compileTemplate(t, what), arg, what);

Deno.test("keys: renders placeholders, numbers like their decimal strings", () => {
  assert.equal(render("user:{userId}:profile", { userId: 123 }), "user:123:profile");
  assert.equal(render("user:{userId}:profile", { userId: "123" }), "user:123:profile");
  assert.equal(render("static", undefined), "static");
  assert.equal(render("p:{a}:{b}", { a: true, b: null }), "p:true:!n");
});

Deno.test("keys: escapes separators so user input cannot collide keys", () => {
  assert.equal(render("user:{id}:profile", { id: "1:profile" }), "user:1%3Aprofile:profile");
  assert.notEqual(render("a:{x}", { x: "b:c" }), render("a:{x}:{y}", { x: "b", y: "c" }));
  assert.equal(renderValue("a*b{c}", "fn"), "a%2Ab%7Bc%7D");
  assert.equal(renderValue("", "fn"), "");
  assert.notEqual(renderValue("", "fn"), renderValue(null, "fn"));
});

Deno.test("keys: objects render canonically, arrays keep order", () => {
  assert.equal(renderValue({ b: 2, a: [1, "x y"] }, "fn"), "{a=[1,x%20y],b=2}");
  assert.equal(renderValue({ a: 1, b: 2 }, "fn"), renderValue({ b: 2, a: 1 }, "fn"));
  assert.equal(renderValue(new Date(0), "fn"), "!d1970-01-01T00%3A00%3A00.000Z");
  assert.notEqual(renderValue(new Date(0), "fn"), renderValue(new Date(0).toISOString(), "fn"));
});

Deno.test("keys: distinct argument values never render alike (property)", () => {
  const value = fc.oneof(
    fc.string({ unit: "grapheme" }),
    fc.string(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }),
    fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer()), { maxKeys: 3 }),
    fc.date({ noInvalidDate: true }),
    fc.array(fc.tuple(fc.string(), fc.integer()), { maxLength: 3 }).map((e) => new Map(e)),
    fc.array(fc.integer(), { maxLength: 3 }).map((e) => new Set(e)),
  );
  // Numbers and their decimal strings (and booleans and "true"/"false") are meant to alias.
  const normal = (v: unknown): string =>
    JSON.stringify(v, function (k, x) {
      const raw = (this as Record<string, unknown>)[k];
      if (raw instanceof Date) return ["date", raw.toISOString()];
      if (x instanceof Map) return ["map", [...x].map(([a, b]) => `${a}=${b}`).sort()];
      if (x instanceof Set) return ["set", [...x].map(String).sort()];
      return typeof x === "number" || typeof x === "boolean" ? String(x) : x;
    });
  fc.assert(
    fc.property(value, value, (a, b) => {
      fc.pre(
        normal(a) !== normal(b) &&
          (typeof a !== "object" || typeof b !== "object" || a === null || b === null),
      );
      assert.notEqual(render("k:{x}:{y}", { x: a, y: "z" }), render("k:{x}:{y}", { x: b, y: "z" }));
    }),
    { numRuns: 2000 },
  );
});

Deno.test("keys: clear TypeErrors for bad templates and arguments", () => {
  assert.throws(() => compileTemplate("user:{user-id}", "getUser"), /getUser: placeholder "\{user-id\}"/);
  assert.throws(() => compileTemplate("user:{id", "getUser"), /unbalanced brace/);
  assert.throws(() => compileTemplate("", "getUser"), TypeError);
  assert.throws(() => render("user:{userId}", { id: 1 }), /fn: the argument has no property "userId"/);
  assert.throws(() => render("user:{userId}", 5), /expected an object argument, current value is number/);
  assert.throws(() => render("user:{userId}", { userId: "\ud800" }), /lone surrogate/);
  assert.throws(
    () => render("user:{userId}", { userId: () => 1 }),
    /fn: property "userId" is a function, which cannot be part of a key/,
  );
  assert.throws(() => render("user:{at}", { at: new Date(NaN) }), {
    name: "TypeError",
    message: /fn: property "at" is an invalid Date/,
  });
});

Deno.test("keys: Map, Set, URL and RegExp render distinctly; class instances and cycles are TypeErrors", () => {
  const distinct = [
    new Map([["a", 1]]),
    new Map([["a", 2]]),
    new Map([[1, "a"]]),
    new Map(),
    new Set([1, 2]),
    new Set([1, 3]),
    new Set(),
    new URL("https://a.example/x"),
    new URL("https://a.example/y"),
    /a/g,
    /a/i,
    {},
    [],
    "{}",
  ];
  const rendered = distinct.map((v) => render("k:{x}", { x: v }));
  assert.equal(new Set(rendered).size, distinct.length, rendered.join(" | "));
  assert.equal(render("k:{x}", { x: new Set([2, 1]) }), render("k:{x}", { x: new Set([1, 2]) }), "canonical");
  assert.equal(
    render("k:{x}", { x: new Map([["b", 1], ["a", 2]]) }),
    render("k:{x}", { x: new Map([["a", 2], ["b", 1]]) }),
  );
  class Point {
    constructor(readonly x: number) {}
  }
  assert.throws(
    () => render("k:{p}", { p: new Point(1) }),
    /Cannot render a key for fn: property "p" is a Point, which has no canonical key form/,
  );
  assert.throws(
    () => render("k:{p}", { p: { inner: new Uint8Array(2) } }),
    /property "p"\.inner is a Uint8Array/,
  );
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  assert.throws(() => render("k:{c}", { c: cyclic }), /property "c"\.self is cyclic/);
  const shared = { n: 1 };
  assert.doesNotThrow(() => render("k:{c}", { c: [shared, shared] }), "a shared (not cyclic) value is fine");
});

Deno.test("keys: values that would render alike render apart or are TypeErrors naming the path", () => {
  const render = (arg: unknown) => renderTemplate(compileTemplate("k:{x}", "f"), { x: arg }, "f");
  // deno-lint-ignore no-sparse-arrays
  const distinct = [[, 1], ["", 1], [undefined, 1], [], [""], [[]], [[""]], new Set([""]), new Set()];
  const nullProto = Object.assign(Object.create(null), { a: 1 });
  const rendered = [...distinct, nullProto, { a: 1 }].map(render);
  assert.equal(new Set(rendered).size, rendered.length, `all distinct: ${rendered.join(" ")}`);
  assert.throws(() => render({ [Symbol("s")]: 1 }), {
    name: "TypeError",
    message: /property "x" has symbol keys/,
  });
  const named = Object.assign([1, 2], { extra: 3 });
  assert.throws(() => render({ list: named }), {
    name: "TypeError",
    message: /property "x"\.list is an array with named properties/,
  });
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.throws(() => render(deep), { name: "TypeError", message: /nested deeper than 100 levels/ });
  let fine: unknown = 1;
  for (let i = 0; i < 90; i++) fine = { a: fine };
  assert.match(render(fine), /^k:(\{a=){90}1\}+$/);
});

Deno.test("keys: long keys are hashed with SHA-256 and stay distinct", async () => {
  const long = "k:" + "x".repeat(3000);
  const fitted = await fitKey(long, 1024);
  assert.ok(fitted.length < 200);
  assert.match(fitted, /^k:x+#[0-9a-f]{64}$/);
  assert.notEqual(await fitKey(long + "y", 1024), fitted);
  assert.equal(await fitKey("short", 1024), "short");
  assert.equal(utf8Length("é😀"), 2 + 4);
});

Deno.test("keys: an unnamed function's missing-placeholder error does not repeat the template", () => {
  const message = (() => {
    try {
      render("user:{userId}:profile", { id: 1 }, "user:{userId}:profile");
    } catch (error) {
      return (error as Error).message;
    }
  })();
  assert.equal(
    message,
    'Cannot render "user:{userId}:profile" (an unnamed function: pass { name } to see its name here): the argument has no property "userId"',
  );
});
