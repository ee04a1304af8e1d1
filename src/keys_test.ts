import assert from "node:assert/strict";
import fc from "fast-check";
import { compileTemplate, fitKey, renderTemplate, renderValue, utf8Length } from "./keys.ts";

const render = (t: string, arg: unknown) => renderTemplate(compileTemplate(t, "fn"), arg, "fn");

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
  assert.equal(renderValue(new Date(0), "fn"), "1970-01-01T00%3A00%3A00.000Z");
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
  );
  // Numbers and their decimal strings (and booleans and "true"/"false") are meant to alias.
  const normal = (v: unknown): string =>
    JSON.stringify(v, (_k, x) => typeof x === "number" || typeof x === "boolean" ? String(x) : x);
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
  assert.throws(() => render("user:{userId}", { userId: () => 1 }), /a function cannot be part of a key/);
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
