import assert from "node:assert/strict";
import { cacheRead, cacheWrite, getMetrics, invalidateTags, recache } from "../../mod.ts";
import { deferred, freshCache } from "../../tests/_helpers.ts";

function profileReader(db: Map<number, string>) {
  const loads: number[] = [];
  const get = cacheRead(
    { key: "user:{userId}:profile", tags: ({ userId }) => [`user:${userId}`], ttl: 60 },
    ({ userId }: { userId: number }) => {
      loads.push(userId);
      return db.get(userId);
    },
  );
  return { get, loads };
}

Deno.test("write: invalidates its tags after success", async () => {
  await freshCache();
  const db = new Map([[1, "old"]]);
  const { get, loads } = profileReader(db);
  const update = cacheWrite(
    { tags: ["user:{userId}"] },
    ({ userId, name }: { userId: number; name: string }) => {
      db.set(userId, name);
      return name;
    },
  );
  assert.equal(await get({ userId: 1 }), "old");
  assert.equal(await update({ userId: 1, name: "new" }), "new");
  assert.equal(await get({ userId: 1 }), "new");
  assert.equal(loads.length, 2);
  assert.equal(getMetrics()["cache.invalidate.count"], 1);
});

Deno.test("write: a template tag and the same tag built by hand are one tag, for any string", async () => {
  await freshCache();
  const db = new Map<string, string>();
  const get = cacheRead(
    { key: "u:{email}", ttl: 3600, tags: ["user:{email}"] },
    ({ email }: { email: string }) => db.get(email),
  );
  const rename = cacheWrite(
    { tags: ({ email }: { email: string; name: string }) => [`user:${email}`] },
    ({ email, name }: { email: string; name: string }) => void db.set(email, name),
  );
  const renameByTemplate = cacheWrite(
    { tags: ["user:{email}"] },
    ({ email, name }: { email: string; name: string }) => void db.set(email, name),
  );
  for (const email of ["ada@x.io", "ada+1@x.io", "a b/ü:1", "50%"]) {
    db.set(email, "Ada");
    assert.equal(await get({ email }), "Ada");
    await rename({ email, name: "Grace" });
    assert.equal(await get({ email }), "Grace", `${email}: a tags function's write`);
    db.set(email, "Linus");
    await invalidateTags(`user:${email}`);
    assert.equal(await get({ email }), "Linus", `${email}: invalidateTags by hand`);
    await renameByTemplate({ email, name: "Ken" });
    assert.equal(await get({ email }), "Ken", `${email}: a template's write`);
  }
  assert.equal(getMetrics()["cache.miss"], 16, "every invalidation made the next read load");
  // A key still escapes what it renders: "1:x" cannot name the entry of a template's second field.
  assert.equal(get.key({ email: "a b" }), "u:a%20b");
});

Deno.test("write: invalidates also when the write throws, and rethrows", async () => {
  await freshCache();
  const db = new Map([[1, "old"]]);
  const { get } = profileReader(db);
  const halfDone = cacheWrite({ tags: ["user:{userId}"] }, ({ userId }: { userId: number }) => {
    db.set(userId, "half");
    throw new Error("crashed midway");
  });
  await get({ userId: 1 });
  await assert.rejects(halfDone({ userId: 1 }), /crashed midway/);
  assert.equal(await get({ userId: 1 }), "half");
});

Deno.test("write: recache warms the reader with the included properties", async () => {
  await freshCache();
  const db = new Map([[1, "old"]]);
  const { get, loads } = profileReader(db);
  const update = cacheWrite(
    { tags: ["user:{userId}"], recache: [recache(get, { include: ["userId"] })] },
    ({ userId, name }: { userId: number; name: string }) => void db.set(userId, name),
  );
  await get({ userId: 1 });
  await update({ userId: 1, name: "new" });
  assert.deepEqual(loads, [1, 1], "the recache loaded");
  assert.equal(await get({ userId: 1 }), "new");
  assert.deepEqual(loads, [1, 1], "and the next read is a hit");
  const m = getMetrics();
  assert.equal(m["cache.warm.count"], 1);
  assert.ok(m["cache.warm.ms"] >= 0);
});

Deno.test("write: recache goes to waitUntil when the call gives one", async () => {
  await freshCache();
  const db = new Map([[1, "a"]]);
  const gate = deferred<void>();
  const get = cacheRead(
    { key: "slow:{userId}", tags: ["user:{userId}"], ttl: 60 },
    async ({ userId }: { userId: number }) => {
      await gate.promise;
      return db.get(userId);
    },
  );
  const update = cacheWrite(
    { tags: ["user:{userId}"], recache: [recache(get)] },
    ({ userId }: { userId: number }) => userId,
  );
  const handed: Promise<unknown>[] = [];
  assert.equal(
    await update({ userId: 1 }, { waitUntil: (p) => handed.push(p) }),
    1,
    "the write does not wait",
  );
  assert.equal(handed.length, 1);
  gate.resolve();
  await handed[0];
  assert.equal(getMetrics()["cache.warm.count"], 1);
});

Deno.test("write: a recache error is logged and counted, never thrown to the writer", async () => {
  const { logger } = await freshCache();
  const get = cacheRead({ key: "boom:{id}", ttl: 60 }, (_: { id: number }) => {
    throw new Error("reader broke");
  });
  const update = cacheWrite({ recache: [recache(get)] }, ({ id }: { id: number }) => id);
  assert.equal(await update({ id: 1 }), 1);
  assert.ok(logger.at("warn").some((m) => m.includes("reader broke")));
  assert.equal(getMetrics()["cache.error"], 1);
});

Deno.test("write: bad options are TypeErrors", () => {
  assert.throws(() => cacheWrite({ tags: "user:{id}" as never }, () => 1), /tags must be an array/);
  assert.throws(() => cacheWrite({ recache: [{}] as never }, () => 1), /recache must be an array/);
  assert.throws(() => recache((() => 1) as never), /expected a function made by cacheRead/);
});

Deno.test("write: a tag template naming a property the argument lacks is a TypeError before the write runs", async () => {
  await freshCache();
  let writes = 0;
  const update = cacheWrite({ tags: ["user:{userId}"] }, (_: { id: number }) => ++writes);
  await assert.rejects(
    () => (update as (arg: unknown) => Promise<number>)({ id: 1 }),
    { name: "TypeError", message: /the argument has no property "userId"/ },
  );
  assert.equal(writes, 0, "the write did not run, so nothing is left uninvalidated");
});
