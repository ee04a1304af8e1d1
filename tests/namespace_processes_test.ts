/**
 * clear() and namespaces across real processes on one store (issue 30): two processes of
 * tests/fixtures/namespace_peer.ts on Redis, Redis Cluster, Upstash and a Deno KV file. A namespace's clear() in
 * one makes the other miss there and leaves the parent's and a sibling's entries; a parent's clear() reaches
 * its namespaces; entries stored after a clear are served.
 *
 * @module
 */
import assert from "node:assert/strict";
import { LinePeer } from "./_helpers.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

const PEER = new URL("./fixtures/namespace_peer.ts", import.meta.url).pathname;

class Peer extends LinePeer {
  constructor(env: Record<string, string>) {
    super("peer", Deno.execPath(), ["run", "-A", "--unstable-kv", PEER], env);
  }

  set(path: string[], key: string, value: string) {
    return this.send({ op: "set", path, key, value });
  }

  async get(path: string[], key: string): Promise<unknown> {
    return ((await this.send({ op: "get", path, key })) as { value: unknown }).value;
  }

  async clear(path: string[]) {
    assert.deepEqual(await this.send({ op: "clear", path }), { delivered: true });
  }
}

const backends: [string, Record<string, string> | undefined][] = [
  ["redis", Deno.env.get("TEST_REDIS_URL") ? { CACHE_URL: Deno.env.get("TEST_REDIS_URL")! } : undefined],
  [
    "redis cluster",
    Deno.env.get("TEST_CLUSTER_URL") ? { CACHE_URL: Deno.env.get("TEST_CLUSTER_URL")! } : undefined,
  ],
  [
    "upstash",
    Deno.env.get("TEST_UPSTASH_URL")
      ? {
        CACHE_URL: Deno.env.get("TEST_UPSTASH_URL")!,
        CACHE_TOKEN: Deno.env.get("TEST_UPSTASH_TOKEN") ?? "",
      }
      : undefined,
  ],
  ["deno kv file", { CACHE_URL: "" }], // filled in per run: a database file of its own
];

for (const [name, given] of backends) {
  if (!given) continue;
  test(`namespaces across processes (${name}): clear() in one process makes the other miss, its namespace only`, async () => {
    const dir = name === "deno kv file" ? await Deno.makeTempDir() : undefined;
    const env: Record<string, string> = { ...given, PREFIX: `np${crypto.randomUUID().slice(0, 8)}` };
    if (dir) env.CACHE_URL = `denokv:${dir}/kv.sqlite3`;
    const a = new Peer(env), b = new Peer(env);
    try {
      const users = ["users"], admins = ["users", "admins"], orders = ["orders"];
      await a.set([], "p", "parent");
      await a.set(users, "x", "user");
      await a.set(admins, "y", "admin");
      await a.set(orders, "o", "order");
      assert.deepEqual(
        [await b.get([], "p"), await b.get(users, "x"), await b.get(admins, "y"), await b.get(orders, "o")],
        ["parent", "user", "admin", "order"],
        "the other process reads them",
      );
      await b.clear(users);
      assert.deepEqual(
        [await a.get(users, "x"), await a.get(admins, "y")],
        [null, null],
        "the namespace and the one under it are cleared for the first process",
      );
      assert.deepEqual(
        [await a.get([], "p"), await a.get(orders, "o")],
        ["parent", "order"],
        "the parent's and the sibling's entries are left",
      );
      await a.set(users, "x", "user again");
      assert.equal(await b.get(users, "x"), "user again", "stored after the clear, served");
      await a.clear([]);
      assert.deepEqual(
        [await b.get([], "p"), await b.get(orders, "o"), await b.get(users, "x")],
        [null, null, null],
        "a parent's clear reaches every namespace under it",
      );
    } finally {
      await a.close();
      await b.close();
      if (dir) await Deno.remove(dir, { recursive: true });
    }
  });
}
