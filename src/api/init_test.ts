import assert from "node:assert/strict";
import {
  type CacheOptions,
  cacheRead,
  cacheWrite,
  closeCache,
  getMetrics,
  initCache,
  instance,
  invalidateTags,
  recache,
  resetMetrics,
} from "../../mod.ts";
import { memoryStore } from "../../adapters/memory.ts";
import { freshCache } from "../../tests/_helpers.ts";

Deno.test("init: malformed options throw at once", async () => {
  await assert.rejects(initCache({ prefix: "a:b" }), /prefix must match/);
  await assert.rejects(initCache({ version: "" }), /version must match/);
  await assert.rejects(initCache({ url: "memory:", store: memoryStore() }), /either url or store/);
  await assert.rejects(initCache({ url: "ftp://x" }), /unknown scheme "ftp"/);
  await assert.rejects(initCache({ deadlineMs: 0 }), RangeError);
});

Deno.test("init: prefix and version come from CACHE_PREFIX / CACHE_VERSION in the env given", async () => {
  await initCache({ env: { CACHE_PREFIX: "envapp", CACHE_VERSION: "v9" } });
  assert.equal(instance().keyPrefix, "envapp:v9:");
  await initCache({ url: "memory:" });
  assert.equal(instance().keyPrefix, "svc:v1:");
});

Deno.test("init: instance() lists logical keys by pattern and reads several", async () => {
  await freshCache();
  const get = cacheRead({ key: "user:{id}:profile", ttl: 60 }, ({ id }: { id: number }) => ({ id }));
  const other = cacheRead({ key: "order:{id}", ttl: 60 }, ({ id }: { id: number }) => id);
  await get({ id: 1 });
  await get({ id: 2 });
  await other({ id: 3 });
  const cache = instance();
  assert.deepEqual(await cache.keys("user:*"), ["user:1:profile", "user:2:profile"]);
  assert.deepEqual(await cache.keys(), ["order:3", "user:1:profile", "user:2:profile"]);
  assert.deepEqual(await cache.getMany(["user:2:profile", "nope"]), [{ id: 2 }, undefined]);
});

Deno.test("init: metrics start at 0, count what happened, reset", async () => {
  await freshCache();
  const m0 = getMetrics();
  for (const name of ["cache.hit", "cache.miss", "cache.invalidate.count", "cache.warm.ms", "cache.error"]) {
    assert.equal(m0[name], 0, name);
  }
  await invalidateTags("a", "b", "a");
  assert.equal(getMetrics()["cache.invalidate.count"], 2);
  resetMetrics();
  assert.equal(getMetrics()["cache.invalidate.count"], 0);
});

Deno.test("init: CACHE_METRICS adds per-function counters and latency", async () => {
  await freshCache({ env: { CACHE_METRICS: "1" } });
  const get = cacheRead({ key: "m", ttl: 60 }, function getM() {
    return 1;
  });
  await get();
  await get();
  const m = getMetrics();
  assert.equal(m['cache.hit{fn="getM"}'], 1);
  assert.equal(m['cache.miss{fn="getM"}'], 1);
  assert.ok(m['cache.load.ms{fn="getM"}'] >= 0);
  assert.equal(m["cache.hit"], 1);
  resetMetrics(); // hits are kept apart from the other counters: reset zeroes them too
  assert.equal(getMetrics()["cache.hit"], 0);
  await get();
  assert.deepEqual([getMetrics()["cache.hit"], getMetrics()['cache.hit{fn="getM"}']], [1, 1]);
});

Deno.test("init: closeCache waits for background work, then a fresh in-memory cache serves", async () => {
  await freshCache();
  let finished = false;
  const slow = cacheRead({ key: "bg", ttl: 60 }, async () => {
    await new Promise((r) => setTimeout(r, 20));
    finished = true;
    return 1;
  });
  const write = cacheWrite({ recache: [recache(slow)] }, () => 0);
  await write(undefined, { waitUntil: () => {} }); // the platform drops the promise; closeCache must not
  assert.equal(finished, false);
  await closeCache();
  assert.ok(finished);
  assert.equal(instance().keyPrefix, "svc:v1:");
});

Deno.test("init: an unknown option is a TypeError naming the closest one; an empty url is an error", async () => {
  await assert.rejects(
    initCache({ urll: "redis://x" } as unknown as CacheOptions),
    { name: "TypeError", message: /unknown option "urll"; did you mean "url"\?/ },
  );
  await assert.rejects(initCache({ deadline: 5 } as unknown as CacheOptions), /did you mean "deadlineMs"\?/);
  await assert.rejects(
    initCache({ zzz: 1 } as unknown as CacheOptions),
    (e: Error) => !e.message.includes("mean"),
  );
  for (const url of ["", "  "]) {
    await assert.rejects(initCache({ url }), {
      name: "TypeError",
      message: /url must be a non-empty string/,
    });
  }
  assert.throws(
    () => cacheRead({ key: "k", tll: 5 } as never, () => 1),
    { name: "TypeError", message: /Cannot cache k: unknown option "tll"; did you mean "ttl"\?/ },
  );
});

Deno.test("init: a bad ttl lists the named ttls and says when it is a string", () => {
  assert.throws(
    () => cacheRead({ key: "k", ttl: "abc" as never }, () => 1),
    /or "short" \| "default" \| "long", current value is the string "abc"/,
  );
  assert.throws(
    () => cacheRead({ key: "k", ttl: "60" as never }, () => 1),
    /current value is the string "60"/,
  );
  assert.throws(() => cacheRead({ key: "k", ttl: -1 }, () => 1), /current value is -1$/);
});

Deno.test("init: a cached function run before initCache says once, in debug mode, that its cache is throwaway; CACHE_METRICS works there too", async () => {
  const { stdout, code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tests/fixtures/before_init.ts"],
    env: { CACHE_DEBUG: "1", CACHE_METRICS: "1", NO_COLOR: "1" },
    stdout: "piped",
  }).output();
  assert.equal(code, 0);
  const lines = new TextDecoder().decode(stdout).split("\n");
  const notes = lines.filter((l) => l.includes("ran before initCache"));
  assert.equal(notes.length, 1, lines.join("\n"));
  assert.match(notes[0], /replaced, entries and all, when initCache runs/);
  // CACHE_METRICS is read the same way as CACHE_DEBUG; an anonymous function is labelled by its key template.
  const metrics = JSON.parse(lines.find((l) => l.startsWith("metrics: "))!.slice("metrics: ".length));
  assert.equal(metrics['cache.hit{fn="early"}'], 1);
  assert.equal(metrics['cache.miss{fn="early"}'], 1);
});

Deno.test("init: of overlapping initCache calls the last one called configures the cache, not the last to finish", async () => {
  const { sealed } = await import("../integrity/mod.ts");
  const first = initCache({ prefix: "first", integrity: sealed({ signingKeys: [new Uint8Array(32)] }) });
  await initCache({ prefix: "second" }); // opens faster than the first: no keys to import
  await first;
  assert.equal(instance().keyPrefix, "second:v1:");
  await closeCache();
});

Deno.test("init: a malformed CACHE_TTL_* in the env is a RangeError from initCache, not from later calls", async () => {
  await assert.rejects(initCache({ env: { CACHE_TTL_DEFAULT: "abc" } }), /Cannot read CACHE_TTL_DEFAULT/);
  await assert.rejects(initCache({ env: { CACHE_TTL_LONG: "-1" } }), RangeError);
  await initCache({ env: { CACHE_TTL_SHORT: "5" } });
  await closeCache();
});

Deno.test("init: an overlapping initCache that fails does not undo an earlier one that succeeds", async () => {
  const { sealed } = await import("../integrity/mod.ts");
  const first = initCache({ prefix: "first", integrity: sealed({ signingKeys: [new Uint8Array(32)] }) });
  await assert.rejects(initCache({ prefix: "bad prefix!" }), TypeError);
  await first;
  assert.equal(instance().keyPrefix, "first:v1:");
  await closeCache();
});
