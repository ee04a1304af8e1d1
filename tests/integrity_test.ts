/**
 * Signed and encrypted entries against real backends, beyond the conformance cases (which every adapter
 * runs): what a raw `GET` shows, Deno KV's value limit with the sealing overhead, the two-level cache, a move
 * from signing to encryption without a flush, and rejections logged once per interval.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createCache } from "../mod.ts";
import { sealed } from "../src/integrity/mod.ts";
import { twoLevel } from "../src/l1/mod.ts";
import { denoKvStore } from "../adapters/deno_kv.ts";
import { redisCli, RedisServer } from "./_servers.ts";
import { RecordingLogger } from "./_helpers.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
const key = () => crypto.getRandomValues(new Uint8Array(32));
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

test("integrity on redis: a raw GET of an encrypted entry shows no plaintext; a signed one verifies", async () => {
  const server = await RedisServer.start();
  try {
    const encrypted = await createCache({
      url: server.url,
      prefix: "enc",
      integrity: sealed({ encryptionKeys: [key()] }),
      logger: quiet,
    });
    const signed = await createCache({
      url: server.url,
      prefix: "sig",
      integrity: sealed({ signingKeys: [key()] }),
      logger: quiet,
    });
    const user = { name: "Ada Lovelace", email: "ada@example.com" };
    await encrypted.getOrSet("user:1", () => user, { ttl: 60, tags: ["users"] });
    await signed.getOrSet("user:1", () => user, { ttl: 60, tags: ["users"] });
    const raw = await redisCli(server.port, "GET", "enc:v1:e:user:1");
    assert.match(raw, /^\["svc4z","[0-9a-f]{16}","e\.[A-Za-z0-9+/=]+"\]$/);
    for (const plain of ["Ada", "example.com", "users", "name"]) assert.ok(!raw.includes(plain), plain);
    assert.deepEqual(await encrypted.get("user:1"), user);
    const rawSigned = await redisCli(server.port, "GET", "sig:v1:e:user:1");
    assert.match(rawSigned, /^\["svc4z","[0-9a-f]{16}","s\.[A-Za-z0-9+/=]{44}",\["svc4",/);
    assert.deepEqual(await signed.get("user:1"), user);
    // Tag names stay readable, as the README says: they are keys.
    assert.ok((await redisCli(server.port, "KEYS", "enc:*")).includes("enc:v1:t:users"));
    await encrypted.close();
    await signed.close();
  } finally {
    await server.stop();
  }
});

test("integrity on deno kv: the sealing overhead is within the value limit; larger results are not cached", async () => {
  const kv = await Deno.openKv(":memory:");
  const logger = new RecordingLogger();
  const store = denoKvStore(kv);
  const cache = await createCache({ store, integrity: sealed({ encryptionKeys: [key()] }), logger });
  try {
    const limit = store.capabilities.maxValueBytes;
    // Base64 makes the ciphertext 4/3 of the entry: about 48 KB of entry fits the 64 KB limit, 60 KB does not.
    let loads = 0;
    for (const [size, cached] of [[40_000, true], [limit - 2000, false]] as const) {
      const value = "x".repeat(size);
      const read = () => cache.getOrSet(`big:${size}`, () => (loads++, value), { ttl: 60 });
      assert.equal(await read(), value);
      assert.equal(await read(), value);
      assert.equal(loads, cached ? 1 : 2, `${size} characters: ${cached ? "cached" : "loaded each time"}`);
      loads = 0;
    }
    assert.ok(
      logger.at("warn").some((m) => /larger than the deno-kv store accepts/.test(m)),
      logger.at("warn").join(),
    );
  } finally {
    await cache.close();
    kv.close();
  }
});

test("integrity with l1: L1 serves its verified copy; an entry forged behind it is rejected, never served", async () => {
  const server = await RedisServer.start();
  try {
    const signingKeys = [key()];
    const options = { url: server.url, prefix: "l1s", integrity: sealed({ signingKeys }), logger: quiet };
    const cache = await createCache({ ...options, l1: twoLevel({ maxStaleMs: 50 }) });
    const plain = await createCache({ url: server.url, prefix: "l1s", logger: quiet });
    let loads = 0;
    const read = () => cache.getOrSet("k", () => ++loads, { ttl: 60 });
    assert.equal(await read(), 1);
    assert.equal(await read(), 1, "an L1 hit");
    assert.equal(cache.metrics()["cache.l1.hit"], 1);
    // Someone with access to Redis replaces the entry with an unsigned one saying 666 (a cache without keys
    // would not even write over a sealed entry: its conditional write does not match).
    await plain.set("forged", 666, { ttl: 60 });
    await redisCli(server.port, "SET", "l1s:v1:e:k", await redisCli(server.port, "GET", "l1s:v1:e:forged"));
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(
      await read(),
      2,
      "past the bound, the validation sees the change; the forged entry is a miss",
    );
    assert.ok(cache.metrics()["cache.integrity.rejected"] >= 1);
    await cache.close();
    await plain.close();
  } finally {
    await server.stop();
  }
});

test("integrity: from signing to encryption without a flush; rejections are logged once per interval", async () => {
  const server = await RedisServer.start();
  try {
    const signing = key();
    const before = await createCache({
      url: server.url,
      prefix: "mv",
      integrity: sealed({ signingKeys: [signing] }),
      logger: quiet,
    });
    await before.set("a", "signed", { ttl: 60 });
    await before.close();
    const logger = new RecordingLogger();
    const after = await createCache({
      url: server.url,
      prefix: "mv",
      integrity: sealed({ signingKeys: [signing], encryptionKeys: [key()] }),
      logger,
    });
    assert.equal(await after.get("a"), "signed", "entries signed before the move still verify");
    await after.set("b", "encrypted", { ttl: 60 });
    assert.match(await redisCli(server.port, "GET", "mv:v1:e:b"), /^\["svc4z","[0-9a-f]{16}","e\./);
    for (let i = 0; i < 20; i++) await redisCli(server.port, "SET", `mv:v1:e:f${i}`, '["svc4","0","forged"]');
    let loads = 0;
    for (let i = 0; i < 20; i++) await after.getOrSet(`f${i}`, () => ++loads, { ttl: 60 });
    assert.equal(loads, 20, "every forged entry was a miss");
    assert.equal(after.metrics()["cache.integrity.rejected"], 20);
    const logged = logger.at("warn").filter((m) => m.includes("unreadable entry"));
    assert.equal(logged.length, 1, `one log line for 20 rejections: ${logged}`);
    await after.close();
  } finally {
    await server.stop();
  }
});

test("integrity: keys from the environment (CACHE_SIGNING_KEYS, CACHE_ENCRYPTION_KEYS), hex or base64", async () => {
  const bytes = key();
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const base64 = btoa(String.fromCharCode(...bytes));
  const server = await RedisServer.start();
  try {
    const url = server.url;
    const writer = await createCache({
      url,
      prefix: "envk",
      logger: quiet,
      env: { CACHE_SIGNING_KEYS: hex },
      integrity: sealed(),
    });
    await writer.set("a", 1, { ttl: 60 });
    // Another process with the same key in base64, a new key first: it verifies the entry.
    const reader = await createCache({
      url,
      prefix: "envk",
      logger: quiet,
      env: { CACHE_SIGNING_KEYS: `${btoa(String.fromCharCode(...key()))}, ${base64}` },
      integrity: sealed(),
    });
    assert.equal(await reader.get("a"), 1);
    assert.match(await redisCli(server.port, "GET", "envk:v1:e:a"), /^\["svc4z","[0-9a-f]{16}","s\./);
    const secret = "0123456789abcdef0123456789abcdef";
    await assert.rejects(
      createCache({ url, logger: quiet, env: { CACHE_ENCRYPTION_KEYS: secret }, integrity: sealed() }),
      (error: Error) =>
        error instanceof TypeError && !error.message.includes(secret) &&
        /CACHE_ENCRYPTION_KEYS\[0\] must be 32 bytes as 64 hex digits or base64, current value is 32 characters/
          .test(error.message),
    );
    await writer.close();
    await reader.close();
  } finally {
    await server.stop();
  }
});

test("integrity: the old options and keys left unread are TypeErrors that say what to write", async () => {
  const written =
    /write integrity: sealed\(\{ signingKeys, encryptionKeys \}\) with sealed from "@svc-infra\/cache\/integrity"/;
  for (const old of [{ signingKeys: [key()] }, { encryptionKeys: [key()] }]) {
    await assert.rejects(
      createCache(old as never),
      (e: Error) =>
        e instanceof TypeError && /unknown option/.test(e.message) &&
        /sealed\(\{ signingKeys, encryptionKeys \}\)/.test(e.message),
    );
  }
  await assert.rejects(createCache({ integrity: { signingKeys: [key()] } as never }), written);
  // Keys in the environment without the feature would leave entries unsealed: refused, not ignored.
  const hex = "ab".repeat(32);
  for (const name of ["CACHE_SIGNING_KEYS", "CACHE_ENCRYPTION_KEYS"]) {
    await assert.rejects(
      createCache({ env: { [name]: hex } }),
      (e: Error) => e instanceof TypeError && e.message.includes(`${name} is set`) && written.test(e.message),
    );
  }
  await assert.rejects(createCache({ env: {}, integrity: sealed() }), /sealed\(\) has no key/);
  await assert.rejects(
    createCache({ integrity: sealed({ signingKey: [key()] } as never) }),
    /did you mean "signingKeys"/,
  );
});

test("integrity: a write over a tampered entry stores (set, a forced read): it is deleted first", async () => {
  const server = await RedisServer.start();
  try {
    const cache = await createCache({
      url: server.url,
      prefix: "tw",
      integrity: sealed({ signingKeys: [key()] }),
      logger: quiet,
    });
    await cache.set("a", "first", { ttl: 60 });
    await redisCli(server.port, "SET", "tw:v1:e:a", '["svc4","0","forged"]');
    assert.equal(await cache.get("a"), undefined, "the tampered entry is not served");
    await cache.set("a", "second", { ttl: 60 });
    assert.equal(await cache.get("a"), "second", "set stored over it");
    await redisCli(server.port, "SET", "tw:v1:e:a", "garbage");
    assert.equal(await cache.getOrSet("a", () => "third", { ttl: 60, force: true }), "third");
    assert.equal(await cache.get("a"), "third", "a forced read stored over it");
    assert.ok(cache.metrics()["cache.integrity.rejected"] >= 2);
    await cache.close();
  } finally {
    await server.stop();
  }
});

test("integrity: set supersedes a load claimed on the sealed entry it replaces, whichever write lands first", async () => {
  const { memoryStore } = await import("../adapters/memory.ts");
  const { faultStore } = await import("../src/testing/fault_store.ts");
  const store = faultStore(memoryStore());
  const cache = await createCache({ store, integrity: sealed({ signingKeys: [key()] }), logger: quiet });
  try {
    await cache.set("k", "value-first", { ttl: 60 });
    let release!: () => void, started = false;
    const gate = new Promise<void>((r) => release = r);
    // A forced load claims the stored (sealed) entry's head, then waits.
    const older = cache.getOrSet("k", async () => (started = true, await gate, "value-of-the-older-load"), {
      ttl: 60,
      force: true,
    });
    while (!started) await new Promise((r) => setTimeout(r, 1));
    const setMany = store.setMany;
    let olderStored!: () => void, setHeld = false;
    const stored = new Promise<void>((r) => olderStored = r);
    store.setMany = async (writes, o) => {
      if (writes.some((w) => w.value.includes("value-of-set"))) setHeld = true, await stored;
      const done = await setMany(writes, o);
      if (writes.some((w) => w.value.includes("value-of-the-older-load"))) olderStored();
      return done;
    };
    const setting = cache.set("k", "value-of-set", { ttl: 60 });
    while (!setHeld) await new Promise((r) => setTimeout(r, 1));
    release();
    await Promise.all([older, setting]);
    store.setMany = setMany;
    assert.equal(await cache.get("k"), "value-of-set");
  } finally {
    await cache.close();
  }
});
