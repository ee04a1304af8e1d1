import assert from "node:assert/strict";
import { cacheWrite, instance, resource } from "../../mod.ts";
import { freshCache } from "../../tests/_helpers.ts";

Deno.test("resource: key {name}:{suffix}:{id}, tag {name}:{id}, namespaced", async () => {
  await freshCache();
  const user = resource("user", "userId");
  let loads = 0;
  const get = user.cacheRead(
    { suffix: "profile", ttl: 60 },
    ({ userId }: { userId: number }) => ({ userId, n: ++loads }),
  );
  const update = user.cacheWrite(({ userId }: { userId: number }) => userId);
  assert.equal(get.key({ userId: 7 }), "user:profile:7");
  await get({ userId: 7 });
  await get({ userId: 70 });
  assert.deepEqual(await instance().keys("user:*"), ["user:profile:7", "user:profile:70"]);
  await update({ userId: 7 });
  assert.equal((await get({ userId: 7 })).n, 3);
  assert.equal((await get({ userId: 70 })).n, 2, "user 70 was not touched by user 7's write");
});

Deno.test("resource: a manual cacheWrite of {name}:{id} invalidates resource reads, and extra tags add", async () => {
  await freshCache();
  const product = resource("product", "productId");
  let loads = 0;
  const get = product.cacheRead(
    { suffix: "details", ttl: 60, tags: ["category:{categoryId}"] },
    (_: { productId: number; categoryId: number }) => ++loads,
  );
  const touchProduct = cacheWrite({ tags: ["product:{productId}"] }, (_: { productId: number }) => 0);
  const touchCategory = cacheWrite({ tags: ["category:{categoryId}"] }, (_: { categoryId: number }) => 0);
  const updateWithOptions = product.cacheWrite({ tags: ["audit"] }, (_: { productId: number }) => 0);
  await get({ productId: 1, categoryId: 9 });
  await touchProduct({ productId: 1 });
  assert.equal(await get({ productId: 1, categoryId: 9 }), 2);
  await touchCategory({ categoryId: 9 });
  assert.equal(await get({ productId: 1, categoryId: 9 }), 3);
  await updateWithOptions({ productId: 1 });
  assert.equal(await get({ productId: 1, categoryId: 9 }), 4);
});

Deno.test("resource: bad names and a read whose argument lacks the id are errors", async () => {
  await freshCache();
  assert.throws(() => resource("", "id"), /name must be a non-empty string/);
  assert.throws(() => resource("user", "user-id" as string), /idField must be a property name/);
  const user = resource("user", "userId");
  assert.throws(() => user.cacheRead({ suffix: "{x}" }, (_: { userId: number }) => 1), /suffix must be/);
  // @ts-expect-error: the argument type lacks userId
  user.cacheRead({ suffix: "p" }, (_: { id: number }) => 1);
  const get = user.cacheRead({ suffix: "p" }, (_: { userId: number }) => 1);
  await assert.rejects(() => (get as (a: unknown) => Promise<number>)({ id: 1 }), /no property "userId"/);
});

Deno.test("resource: a key option is a TypeError saying the key is the resource's own", async () => {
  await freshCache();
  const user = resource("user", "userId");
  assert.throws(
    () =>
      user.cacheRead({ suffix: "profile", key: "mine" } as never, ({ userId }: { userId: number }) => userId),
    /unknown option "key": a resource's key is \{name\}:\{suffix\}:\{id\}, give suffix/,
  );
  assert.throws(
    () => user.cacheRead({ suffix: "profile", tll: 5 } as never, ({ userId }: { userId: number }) => userId),
    /did you mean "ttl"/,
  );
});
