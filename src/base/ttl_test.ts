import assert from "node:assert/strict";
import { checkSeconds, checkTtl, namedTtl, TTL_DEFAULT, TTL_LONG, TTL_SHORT } from "./ttl.ts";

Deno.test("ttl: constants are 30 / 300 / 3600 seconds", () => {
  assert.deepEqual([TTL_SHORT, TTL_DEFAULT, TTL_LONG], [30, 300, 3600]);
});

Deno.test("ttl: CACHE_TTL_* overrides, read from the env given", () => {
  assert.equal(namedTtl("long", { CACHE_TTL_LONG: "7200" }), 7200);
  assert.equal(namedTtl("default", { CACHE_TTL_DEFAULT: "0" }), 0);
  assert.equal(namedTtl("short", {}), 30);
  assert.throws(
    () => namedTtl("short", { CACHE_TTL_SHORT: "soon" }),
    /CACHE_TTL_SHORT: expected seconds >= 0, current value is "soon"/,
  );
});

Deno.test("ttl: negative, NaN and infinite ttls are RangeErrors naming the function", () => {
  for (const bad of [-1, NaN, Infinity]) {
    assert.throws(() => checkTtl(bad, "getUser"), /Cannot cache getUser: ttl/);
  }
  assert.throws(() => checkTtl("forever" as never, "getUser"), RangeError);
  checkTtl(0, "getUser");
  checkTtl("long", "getUser");
});

Deno.test("ttl: a name every object inherits is no TTL name; seconds-only options refuse names", () => {
  for (const inherited of ["constructor", "toString", "__proto__", "valueOf", "hasOwnProperty"]) {
    assert.throws(() => checkTtl(inherited as never, "getUser"), {
      name: "RangeError",
      message: new RegExp(`current value is the string "${inherited}"`),
    });
  }
  for (const bad of ["long", "60", -1, NaN, 1e13]) {
    assert.throws(() => checkSeconds(bad as never, "getUser", "staleTtl"), {
      name: "RangeError",
      message: /Cannot cache getUser: staleTtl must be/,
    });
  }
  checkSeconds(undefined, "getUser", "staleTtl");
  checkSeconds(30, "getUser", "staleTtl");
});
