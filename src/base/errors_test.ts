import assert from "node:assert/strict";
import { CacheTimeoutError, StoreError } from "./errors.ts";
import { SchemaError } from "../read/schema.ts";

Deno.test("errors: instanceof holds for an error made by another copy of the library in the process", async () => {
  // Another module instance, as the CommonJS build beside the ESM one.
  const copy = await import("./errors.ts?another-copy") as unknown as typeof import("./errors.ts");
  const schemaCopy = await import(
    "../read/schema.ts?another-copy"
  ) as unknown as typeof import("../read/schema.ts");
  assert.notEqual(copy.StoreError, StoreError, "a copy indeed");
  assert.ok(new copy.StoreError("redis", "down") instanceof StoreError);
  assert.ok(new copy.CacheTimeoutError("getUser", 200) instanceof CacheTimeoutError);
  assert.ok(new schemaCopy.SchemaError("getUser", []) instanceof SchemaError);
  assert.ok(new StoreError("redis", "down") instanceof copy.StoreError);
  assert.ok(new schemaCopy.SchemaError("getUser", []) instanceof TypeError, "still a TypeError");
  assert.ok(!(new Error("x") instanceof StoreError));
  assert.ok(!(new CacheTimeoutError("f", 1) instanceof StoreError));
  class Mine extends StoreError {}
  assert.ok(!(new StoreError("redis", "down") instanceof Mine), "a subclass keeps the ordinary instanceof");
  assert.ok(new Mine("redis", "down") instanceof Mine && new Mine("redis", "down") instanceof StoreError);
  assert.ok(!StoreError[Symbol.hasInstance](null) && !StoreError[Symbol.hasInstance]("StoreError"));
});
