import assert from "node:assert/strict";
import { cacheRead, cacheWrite, closeCache, initCache, recache } from "../../mod.ts";
import { deferred, freshCache } from "../../tests/_helpers.ts";

/** An execution context like a Worker's: its method needs its object (a private field's brand check). */
class ExecutionContext {
  #tasks: Promise<unknown>[] = [];
  waitUntil(promise: Promise<unknown>): void {
    this.#tasks.push(promise);
  }
  get tasks(): Promise<unknown>[] {
    return this.#tasks;
  }
}

/** What workerd's `ctx.waitUntil` is once read off `ctx`: a native function named `waitUntil`. */
function detachedNativeMethod(): (promise: Promise<unknown>) => void {
  const native = (() => {}).bind(null);
  return Object.defineProperty(native, "name", { value: "waitUntil" });
}

/** A cached read due for an early refresh on its next hit, whose refreshes wait for `gate`. */
async function dueForRefresh() {
  const { clock, logger } = await freshCache();
  let version = 1;
  const gate = deferred<void>();
  const loaded: number[] = [];
  const get = cacheRead({ key: "early", ttl: 100, earlyTtl: 60 }, async () => {
    if (version > 1) await gate.promise;
    loaded.push(version);
    return version;
  });
  assert.equal(await get(), 1);
  version = 2;
  clock.advance(61_000);
  return { get, gate, logger, loaded };
}

Deno.test("waitUntil: the execution context itself (waitUntil: ctx) receives the refresh, called on ctx", async () => {
  const { get, gate } = await dueForRefresh();
  const ctx = new ExecutionContext();
  assert.equal(await get(undefined, { waitUntil: ctx }), 1);
  assert.equal(ctx.tasks.length, 1, "the refresh went to ctx.waitUntil");
  gate.resolve();
  await ctx.tasks[0];
  assert.equal(await get(), 2);
});

Deno.test("waitUntil: one that throws reaches no caller, loses no work, and is reported with the fix", async () => {
  const { get, gate, logger, loaded } = await dueForRefresh();
  const ctx = new ExecutionContext();
  // A JavaScript method taken off its object throws when called (here: the private field's brand check).
  assert.equal(await get(undefined, { waitUntil: ctx.waitUntil }), 1);
  assert.ok(
    logger.at("warn").some((m) =>
      m.includes("Cannot hand background work to waitUntil") && m.includes("ctx")
    ),
    logger.at("warn").join("\n"),
  );
  assert.deepEqual(loaded, [1], "the refresh waits for its gate");
  setTimeout(() => gate.resolve(), 50);
  await closeCache(); // awaits the refresh the platform was not told about
  assert.deepEqual(loaded, [1, 2], "the refresh ran to its end");
});

Deno.test("waitUntil: a detached native method is refused at once, or replaced by the cache's own", async () => {
  await freshCache();
  const get = cacheRead({ key: "k", ttl: 100 }, () => 1);
  const message =
    /Cannot use waitUntil: current value is a detached host method \(ctx\.waitUntil\).*waitUntil: ctx/;
  // On every call, hit or miss: not only on the first background refresh.
  await assert.rejects(get(undefined, { waitUntil: detachedNativeMethod() }), { name: "TypeError", message });
  await assert.rejects(initCache({ waitUntil: detachedNativeMethod() }), { name: "TypeError", message });
  let wrote = false;
  const update = cacheWrite({}, () => wrote = true);
  await assert.rejects(update(undefined, { waitUntil: detachedNativeMethod() }), {
    name: "TypeError",
    message,
  });
  assert.equal(wrote, false, "refused before the write runs");

  // With a cache-wide waitUntil (on Workers, the one of "cloudflare:workers"), it stands in.
  const handed: Promise<unknown>[] = [];
  const { clock } = await freshCache({ waitUntil: (p) => void handed.push(p) });
  let loads = 0;
  const early = cacheRead({ key: "e", ttl: 100, earlyTtl: 60 }, () => ++loads);
  const warm = cacheWrite({ recache: [recache(early)] }, () => "written");
  assert.equal(await early(undefined, { waitUntil: detachedNativeMethod() }), 1);
  clock.advance(61_000);
  assert.equal(await early(undefined, { waitUntil: detachedNativeMethod() }), 1);
  assert.equal(await warm(undefined, { waitUntil: detachedNativeMethod() }), "written");
  assert.equal(handed.length, 2, "the refresh and the recache went to the cache's waitUntil");
  await Promise.all(handed);
  assert.equal(loads, 3);
});

Deno.test("waitUntil: anything else is a TypeError naming the value; bound functions and `cloudflare:workers`'s shape pass", async () => {
  await freshCache();
  const get = cacheRead({ key: "k", ttl: 100 }, () => 1);
  for (const bad of [42, "ctx", {}, { waitUntil: true }]) {
    await assert.rejects(
      get(undefined, { waitUntil: bad as never }),
      {
        name: "TypeError",
        message: /Cannot use waitUntil: current value is .*; pass a function or an object/,
      },
    );
  }
  const ctx = new ExecutionContext();
  // `ctx.waitUntil.bind(ctx)` is native too, but named `bound waitUntil`, as the waitUntil of "cloudflare:workers" is.
  const { clock } = await freshCache({ waitUntil: ctx.waitUntil.bind(ctx) });
  let loads = 0;
  const early = cacheRead({ key: "e", ttl: 100, earlyTtl: 60 }, () => ++loads);
  assert.equal(await early(), 1);
  clock.advance(61_000);
  assert.equal(await early(), 1);
  assert.equal(ctx.tasks.length, 1, "the refresh went to the bound method");
  await ctx.tasks[0];
  assert.equal(await early(), 2);
});
