/**
 * One Deno KV database file shared by Deno and Node processes (`denokv:<path>` on both; Node through
 * `@deno/kv`): each reads what the other wrote as a hit, sees the other's invalidations, and conditional
 * writes from several processes at once (claims, lock releases) do not fail on SQLite's file lock.
 *
 * @module
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { LinePeer } from "./_helpers.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

const PEER = fileURLToPath(new URL("./fixtures/kv_peer.mjs", import.meta.url));
const NPM_BUILD = fileURLToPath(new URL("../npm/esm/mod.js", import.meta.url));
const MOD = new URL("../mod.ts", import.meta.url).href;

/** A process of tests/fixtures/kv_peer.mjs, driven one command at a time. */
class Peer extends LinePeer {
  constructor(name: string, runtime: "deno" | "node", env: Record<string, string>) {
    const [cmd, args, lib] = runtime === "deno"
      ? [Deno.execPath(), ["run", "-A", PEER], MOD]
      : ["node", [PEER], pathToFileURL(NPM_BUILD).href];
    super(name, cmd, args, { ...env, LIB: lib, NAME: name });
  }

  read(id: number) {
    return this.send<{ value: string; hit: boolean }>({ op: "read", id });
  }

  async invalidate(id: number) {
    assert.deepEqual(await this.send({ op: "invalidate", id }), { delivered: true });
  }

  /** Closes the cache and waits for the process; kills it when it does not exit. */
  async shut() {
    assert.equal(await this.close(this.send({ op: "close" })), 0, `${this.name} exit code`);
  }
}

/** Runs `fn` with peers (name → runtime) on one fresh database file. */
async function withPeers(
  runtimes: Record<string, "deno" | "node">,
  fn: (peers: Record<string, Peer>) => Promise<void>,
) {
  assert.ok(existsSync(NPM_BUILD), "the Node peers use the npm build: run `npm run build` (npm test does)");
  const dir = await Deno.makeTempDir();
  const env = { CACHE_URL: `denokv:${dir}/shared.sqlite`, PREFIX: "shared" };
  const peers = Object.fromEntries(
    Object.entries(runtimes).map(([name, r]) => [name, new Peer(name, r, env)]),
  );
  try {
    await fn(peers);
  } finally {
    await Promise.all(Object.values(peers).map((peer) => peer.shut()));
    await Deno.remove(dir, { recursive: true });
  }
}

test("deno kv shared: Deno and Node read each other's entries as hits and see each other's invalidations", async () => {
  await withPeers({ deno: "deno", node: "node" }, async ({ deno, node }) => {
    // Deno writes, Node reads it as a hit; and the other way round.
    assert.deepEqual(await deno.read(1), { value: "deno load 1 of item 1", hit: false });
    assert.deepEqual(await node.read(1), { value: "deno load 1 of item 1", hit: true });
    assert.deepEqual(await node.read(2), { value: "node load 1 of item 2", hit: false });
    assert.deepEqual(await deno.read(2), { value: "node load 1 of item 2", hit: true });
    // Deno invalidates item 1: Node loads it again, and Deno then reads Node's new value as a hit.
    await deno.invalidate(1);
    assert.deepEqual(await node.read(1), { value: "node load 2 of item 1", hit: false });
    assert.deepEqual(await deno.read(1), { value: "node load 2 of item 1", hit: true });
    // Node invalidates item 2: Deno loads it again, and Node reads Deno's new value as a hit.
    await node.invalidate(2);
    assert.deepEqual(await deno.read(2), { value: "deno load 2 of item 2", hit: false });
    assert.deepEqual(await node.read(2), { value: "deno load 2 of item 2", hit: true });
  });
});

/** What a peer reports after hammering: reads, hits, and its store errors by cause. */
interface Hammered {
  reads: number;
  hits: number;
  locked: number;
  timeouts: number;
  other: number;
  examples: string[];
}
const HAMMER = { op: "hammer", ms: 2000 };

test("deno kv shared: claims and lock releases from two Deno and two Node processes at once fail none", async () => {
  await withPeers({ deno1: "deno", deno2: "deno", node1: "node", node2: "node" }, async (peers) => {
    const reports = await Promise.all(
      Object.values(peers).map(async (peer) => ({ name: peer.name, ...await peer.send<Hammered>(HAMMER) })),
    );
    const summary = (r: typeof reports[number]) =>
      `${r.name}: ${r.reads} reads, ${r.hits} hits, ${r.timeouts} calls past their deadline`;
    console.log(reports.map(summary).join("; "));
    // Calls past their deadline are allowed (the file takes one writer at a time, on shared cores); a commit
    // refused because another process held the file is not.
    for (const r of reports) {
      assert.equal(r.locked + r.other, 0, `${r.name}: store errors: ${r.examples.join("; ")}`);
      assert.ok(r.reads > 0 && r.hits > 0, `${r.name} really read and hit: ${r.reads} reads, ${r.hits} hits`);
    }
  });
});
