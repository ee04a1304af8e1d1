/** Deno KV specifics: its limits (10 keys per read, atomic mutation caps, 64 KiB values) and lazy expiry. */
import assert from "node:assert/strict";
import {
  cacheRead,
  closeCache,
  getMetrics,
  initCache,
  instance,
  invalidateTags,
  resetMetrics,
} from "../mod.ts";
import { denoKvStore } from "../adapters/deno_kv.ts";
import { RecordingLogger } from "./_helpers.ts";

Deno.test("deno kv: an entry with 15 tags (16 keys, over getMany's 10) is read, validated and invalidated", async () => {
  const kv = await Deno.openKv(":memory:");
  await initCache({ store: denoKvStore(kv) });
  try {
    const tags = Array.from({ length: 15 }, (_, i) => `t${i}:{id}`);
    let loads = 0;
    const get = cacheRead({ key: "many:{id}", tags, ttl: 60 }, ({ id }: { id: number }) => (loads++, id));
    await get({ id: 1 });
    await get({ id: 1 });
    assert.equal(loads, 1);
    await invalidateTags("t14:1");
    await get({ id: 1 });
    assert.equal(loads, 2);
  } finally {
    await closeCache();
    kv.close();
  }
});

Deno.test("deno kv: invalidating 2,500 tags at once stays under the atomic limits", async () => {
  const kv = await Deno.openKv(":memory:");
  await initCache({ store: denoKvStore(kv) });
  try {
    let loads = 0;
    const get = cacheRead({ key: "one", tags: ["t1999"], ttl: 60 }, () => ++loads);
    await get();
    resetMetrics();
    await invalidateTags(...Array.from({ length: 2500 }, (_, i) => `t${i}`));
    assert.equal(getMetrics()["cache.invalidate.pending"], 0);
    assert.equal(getMetrics()["cache.error"], 0);
    assert.equal(await get(), 2);
  } finally {
    await closeCache();
    kv.close();
  }
});

Deno.test("deno kv: expiry is checked on read, whatever expireIn's lazy cleanup does", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = denoKvStore(kv);
  await store.setMany([{ key: "short", value: "v", ttlMs: 30 }]);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(await store.getMany(["short"]), [null]);
  assert.deepEqual(await store.setMany([{ key: "short", value: "w", ttlMs: 1000, ifAbsent: true }]), [true]);
  kv.close();
});

Deno.test("deno kv: values are limited by their UTF-8 bytes (65,528 fit); a larger one is refused, not thrown", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = denoKvStore(kv);
  const most = store.capabilities.maxValueBytes;
  assert.equal(most, 65_536 - 8); // Deno KV's limit, less the expiry stored before the text
  const fits = "a".repeat(most - 4) + "😀"; // the most that fits: an emoji is four bytes in UTF-8
  const over = "é".repeat(most / 2 + 1); // two bytes each
  assert.deepEqual(
    await store.setMany([{ key: "fits", value: fits, ttlMs: 1000 }, {
      key: "over",
      value: over,
      ttlMs: 1000,
    }]),
    [true, false],
  );
  assert.deepEqual(await store.getMany(["fits", "over"]), [fits, null]);
  const logger = new RecordingLogger();
  await initCache({ store, logger });
  let loads = 0;
  const get = cacheRead({ key: "accents", ttl: 60 }, () => (loads++, over));
  assert.equal(await get(), over);
  assert.equal(await get(), over);
  assert.equal(loads, 2);
  await closeCache();
  kv.close();
});

Deno.test("deno kv: denokv: URLs open the default database or the given path", async () => {
  const path = await Deno.makeTempFile({ suffix: ".sqlite" });
  await initCache({ url: `denokv:${path}`, prefix: "url" });
  const get = cacheRead({ key: "persisted", ttl: 60 }, () => "on disk");
  await get();
  assert.equal(instance().store.name, "deno-kv");
  await closeCache();
  const kv = await Deno.openKv(path);
  const [value] = await denoKvStore(kv).getMany(["url:v1:e:persisted"]);
  assert.match(value ?? "", /"on disk"\]$/);
  kv.close();
  await initCache({ url: "denokv::memory:" });
  assert.equal(instance().store.name, "deno-kv");
  await closeCache();
});

Deno.test("deno kv: Deno run without --unstable-kv is told to add the flag, not to install @deno/kv", async () => {
  // Outside this repository's deno.json (whose "unstable": ["kv"] would apply), with its imports, so that
  // @deno/kv resolves: the flag is still the answer on Deno.
  const dir = await Deno.makeTempDir({ prefix: "svc-cache-kv-" });
  try {
    const script = `${dir}/open.ts`;
    await Deno.writeTextFile(
      script,
      `import { closeCache, initCache } from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};
try {
  await initCache({ url: "denokv::memory:" });
  await closeCache();
  console.log("opened");
} catch (error) {
  console.log(\`\${error.name}: \${error.message}\`);
}
`,
    );
    const run = async (...flags: string[]) => {
      const { stdout, success } = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-config",
          "--import-map=deno.json",
          "--node-modules-dir=manual",
          "-A",
          ...flags,
          script,
        ],
        env: { NO_COLOR: "1" },
        stderr: "inherit",
      }).output();
      assert.ok(success);
      return new TextDecoder().decode(stdout).trim();
    };
    const without = await run();
    assert.match(
      without,
      /^TypeError: Cannot open Deno KV: Deno [\d.]+ was run without --unstable-kv; run it with --unstable-kv/,
    );
    assert.doesNotMatch(without, /@deno\/kv|npm install/);
    assert.equal(await run("--unstable-kv"), "opened", "the same script opens with the flag");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
