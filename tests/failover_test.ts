/**
 * Redis failovers. A single Redis with a replica: an invalidation is acknowledged only once the replica has it.
 * And Redis Cluster failovers under load, on a cluster of three masters with one replica each (tests/_cluster.ts):
 * a master frozen until its replica is promoted and then thawed, a manual `CLUSTER FAILOVER`, a master killed,
 * a slot moved to another master, and a replica that misses an invalidation before it is promoted. Readers in
 * a second cache instance (another process, as far as the store is concerned) and in the writer's own, while
 * a writer updates the source and invalidates. The faulted master holds the namespace's generation key, which
 * every read touches.
 *
 * Asserted: zero stale reads after an acknowledged invalidation, every queued invalidation landed, a fresh
 * instance reads the latest value of every item afterwards, hits resume within 2 s of the promotion (printed),
 * and no `MaxListenersExceededWarning`.
 *
 * @module
 */

import assert from "node:assert/strict";
import process from "node:process";
import { type Cache, createCache } from "../mod.ts";
import { ClusterNode, ReplicatedCluster, until } from "./_cluster.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const ITEMS = 24;
/** Hits must resume within this long after the promotion. */
const RESUME_MS = 2000;

const warnings: string[] = [];
process.on("warning", (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`));

let shared: ReplicatedCluster | undefined;
/** One cluster for the file (starting one takes seconds); each test leaves it settled. */
async function cluster(): Promise<ReplicatedCluster> {
  return shared ??= await ReplicatedCluster.start();
}

/** What a fault is given: the master to fault, and the load's progress. */
interface FaultContext {
  /** The master holding the namespace's generation key. */
  target: ClusterNode;
  cluster: ReplicatedCluster;
  generationKey: string;
  /** Resolves once a read hit after `since` (a `performance.now()` time), or hits failed to resume in time. */
  hitAfter(since: number): Promise<void>;
  /** Stops the writer, so that an invalidation lost in the fault is not made good by a later one. */
  stopWrites(): Promise<void>;
  /** `true` once every invalidation queued so far has landed, `false` if one has not within `ms`. */
  landedWithin(ms: number): Promise<boolean>;
}

/** A fault; resolves with when the replica became master (`performance.now()`), if there was a promotion. */
type Fault = (context: FaultContext) => Promise<number | undefined>;

interface Outcome {
  reads: number;
  stale: string[];
  queued: number;
  resumeMs?: number;
}

/**
 * Runs readers and a writer against a fresh namespace whose generation key lives on the master `fault` is
 * given, while the fault runs; checks the rule on every read, then that every queued invalidation lands and a
 * fresh instance reads the latest value of every item.
 */
async function underLoad(fault: Fault): Promise<Outcome> {
  const c = await cluster();
  warnings.length = 0;
  const prefix = `fo${crypto.randomUUID().slice(0, 8)}`;
  const target = await c.masterOf(`${prefix}:v1:g`);
  const options = { url: c.url, prefix, logger: quiet };
  const writer = await createCache(options);
  const reader = await createCache(options);
  const db = Array.from({ length: ITEMS }, () => 1);
  const acked = Array.from({ length: ITEMS }, () => 1);
  const outcome: Outcome = { reads: 0, stale: [], queued: 0 };
  const hits: number[] = [];
  const stops = [writer, reader].map((cache) => cache.on("hit", () => void hits.push(performance.now())));
  // An item's entry and tag version share a slot (a hash tag), so a master that loses a write loses both.
  const read = (cache: Cache, id: number) =>
    cache.getOrSet(`item:{${id}}`, () => ({ id, v: db[id] }), { ttl: 60, tags: [`item:{${id}}`] });
  const landings: Promise<void>[] = [];
  let running = true, writing = true;
  try {
    for (let id = 0; id < ITEMS; id++) await Promise.all([read(writer, id), read(reader, id)]);
    const readLoop = async (cache: Cache) => {
      while (running) {
        const id = Math.floor(Math.random() * ITEMS);
        const floor = acked[id];
        const started = performance.now();
        const { v } = await read(cache, id);
        outcome.reads++;
        await sleep(0); // a read served without I/O (the breaker open) must not starve the timers
        if (v < floor) {
          outcome.stale.push(
            `item ${id}: read v${v} at ${started.toFixed(0)} ms, v${floor} acknowledged before`,
          );
        }
      }
    };
    const writeLoop = async () => {
      while (running && writing) {
        const id = Math.floor(Math.random() * ITEMS);
        const v = ++db[id];
        const { delivered, landed } = await writer.invalidateTags([`item:{${id}}`]);
        const ack = () => void (acked[id] = Math.max(acked[id], v));
        if (delivered) ack();
        else {
          outcome.queued++;
          landings.push(landed.then(ack));
        }
        await sleep(5);
      }
    };
    const writes = writeLoop();
    const loops = [readLoop(reader), readLoop(reader), readLoop(reader), readLoop(writer), writes];
    const stopWrites = () => {
      writing = false;
      return writes;
    };
    await sleep(300);
    const hitAfter = (since: number) =>
      until(() => hits.some((t) => t > since) || performance.now() > since + RESUME_MS + 1000, "hits");
    const landedWithin = (ms: number) =>
      Promise.race([Promise.all(landings).then(() => true), sleep(ms).then(() => false)]);
    const promotedAt = await fault({
      target,
      cluster: c,
      generationKey: `${prefix}:v1:g`,
      hitAfter,
      stopWrites,
      landedWithin,
    });
    if (promotedAt !== undefined) {
      await hitAfter(promotedAt); // the load goes on until hits have resumed, or clearly failed to
      const first = hits.find((t) => t > promotedAt);
      outcome.resumeMs = first === undefined ? undefined : first - promotedAt;
    }
    await sleep(500);
    running = false;
    await Promise.all(loops);
    await c.settled();
    // Every queued invalidation lands once the cluster is whole again.
    const all = Promise.all(landings);
    const landedInTime = await Promise.race([all.then(() => true), sleep(10_000).then(() => false)]);
    assert.ok(landedInTime, "every queued invalidation landed within 10 s of the fault");
    // A fresh instance (another process, for the store) reads the latest value of every item.
    const fresh = await createCache(options);
    try {
      for (let id = 0; id < ITEMS; id++) {
        const { v } = await read(fresh, id);
        if (v !== db[id]) outcome.stale.push(`fresh instance: item ${id} read v${v}, latest v${db[id]}`);
      }
    } finally {
      await fresh.close();
    }
    return outcome;
  } finally {
    running = false;
    stops.forEach((stop) => stop());
    await writer.close();
    await reader.close();
  }
}

function verdict(name: string, outcome: Outcome, promotion: boolean) {
  console.log(
    `${name}: ${outcome.reads} reads, ${outcome.queued} invalidations queued, ${outcome.stale.length} stale` +
      (promotion ? `, hits resumed ${outcome.resumeMs?.toFixed(0) ?? "never"} ms after the promotion` : ""),
  );
  assert.deepEqual(outcome.stale, [], "no stale read");
  assert.ok(outcome.reads > 200, `the load really ran: ${outcome.reads} reads`);
  if (promotion) {
    assert.ok(outcome.resumeMs !== undefined && outcome.resumeMs < RESUME_MS, "hits resumed within 2 s");
  }
  assert.deepEqual(warnings, [], "no warnings (MaxListenersExceededWarning)");
}

test("cluster: a master frozen until its replica is promoted, then thawed", async () => {
  const outcome = await underLoad(async ({ target, cluster: c, hitAfter, stopWrites }) => {
    const replica = await c.replicaOf(target);
    target.freeze();
    try {
      await sleep(300); // invalidations made meanwhile are queued
      await stopWrites();
      await c.promoted(replica);
      const promotedAt = performance.now();
      await hitAfter(promotedAt); // hits resume while the old master is still frozen
      return promotedAt;
    } finally {
      target.thaw(); // it rejoins as a replica of the promoted one, and resyncs from it
    }
  });
  verdict("frozen master", outcome, true);
});

test("cluster: a manual CLUSTER FAILOVER", async () => {
  const outcome = await underLoad(async ({ target, cluster: c }) => {
    const replica = await c.replicaOf(target);
    await replica.cli("cluster", "failover");
    await c.promoted(replica);
    return performance.now();
  });
  verdict("manual failover", outcome, true);
});

test("cluster: a master killed (SIGKILL), its replica promoted", async () => {
  const c = await cluster();
  let killed: ClusterNode | undefined;
  try {
    const outcome = await underLoad(async ({ target, hitAfter, landedWithin }) => {
      const replica = await c.replicaOf(target);
      killed = target;
      await target.kill();
      await c.promoted(replica);
      const promotedAt = performance.now();
      await hitAfter(promotedAt); // hits resume while the old master is still dead
      // And the invalidations queued meanwhile land on its successor, without waiting for it to come back.
      assert.ok(await landedWithin(RESUME_MS), "the queued invalidations landed within 2 s of the promotion");
      await target.start(); // it rejoins as a replica
      killed = undefined;
      return promotedAt;
    });
    verdict("killed master", outcome, true);
  } finally {
    await killed?.start();
  }
});

test("cluster: the generation key's slot moved to another master", async () => {
  const outcome = await underLoad(async ({ cluster: c, generationKey }) => {
    await c.migrateSlotOf(generationKey);
    await sleep(500);
    return undefined;
  });
  verdict("slot migration", outcome, false);
});

test("cluster: an invalidation during a slot migration follows ASK to the importing master, and is acknowledged once its replica has it", async () => {
  const c = await cluster();
  const prefix = `mig${crypto.randomUUID().slice(0, 6)}`;
  const [moved, kept] = [`${prefix}:v1:t:item:{7}`, `${prefix}:v1:t:list:{7}`]; // one slot
  const writer = await createCache({ url: c.url, prefix, logger: quiet, deadlineMs: 1000 });
  const other = await createCache({ url: c.url, prefix, logger: quiet, deadlineMs: 1000 }); // another process
  let db = 1;
  const tags = ["item:{7}", "list:{7}"];
  const read = (cache: Cache) => cache.getOrSet("item:{7}", () => db, { ttl: 600, tags });
  try {
    assert.equal(await read(writer), 1);
    assert.equal(await read(other), 1);
    // One tag's version moved to the importing master, the other's not yet: a DEL of both is refused there.
    const migration = await c.startMigration(moved, [kept]);
    try {
      // KEYS answers for the node itself (another command would be redirected).
      assert.equal(await migration.to.cli("keys", moved), moved, "moved to the importing master");
      assert.equal(await migration.from.cli("keys", kept), kept, "still on its master");
      db = 2;
      const { delivered } = await writer.invalidateTags(tags);
      assert.equal(delivered, true, "delivered within the call, though one key moved");
      assert.equal(await migration.to.cli("keys", moved), "", "deleted where it is now");
      assert.equal(await migration.from.cli("keys", kept), "", "and where it still is");
      assert.equal(await read(other), 2, "another process reads the new value during the migration");
    } finally {
      await migration.finish();
    }
    assert.equal(await read(other), 2);
  } finally {
    await Promise.all([writer.close(), other.close()]);
  }
});

test("cluster: an invalidation the replica missed is not acknowledged before it is promoted", async () => {
  const c = await cluster();
  let killed: ClusterNode | undefined;
  try {
    const outcome = await underLoad(async ({ target, stopWrites }) => {
      const replica = await c.replicaOf(target);
      // The replica misses what the master takes now (its link is cut, and it is frozen so it cannot
      // reconnect); then the master dies and the replica takes over.
      replica.freeze();
      await target.cli("client", "kill", "type", "replica");
      await sleep(400);
      await stopWrites();
      killed = target;
      await target.kill();
      replica.thaw();
      await c.promoted(replica);
      const promotedAt = performance.now();
      await sleep(300);
      await target.start();
      killed = undefined;
      return promotedAt;
    });
    verdict("replica behind, then promoted", outcome, true);
  } finally {
    await killed?.start();
  }
});

test("replicated redis: an invalidation is delivered only once the replica has it, else queued", async () => {
  const master = await ClusterNode.plain();
  const replica = await ClusterNode.plain(["--replicaof", "127.0.0.1", String(master.port)]);
  const cache = await createCache({ url: `redis://${master.address}`, prefix: "rep", logger: quiet });
  const tagKey = "rep:v1:t:t";
  const onReplica = (exists: string) =>
    until(
      async () => (await replica.cli("exists", tagKey)) === exists,
      `exists ${tagKey} = ${exists} on the replica`,
    );
  try {
    await until(async () => /\nconnected\n/.test(await replica.cli("role")), "the replica in sync");
    await cache.getOrSet("k", () => 1, { tags: ["t"], ttl: 60 });
    await onReplica("1");
    const healthy = await cache.invalidateTags(["t"]);
    assert.equal(healthy.delivered, true);
    assert.equal(
      await replica.cli("exists", tagKey),
      "0",
      "the replica had the delete when it was acknowledged",
    );

    await cache.getOrSet("k", () => 2, { tags: ["t"], ttl: 60 });
    await onReplica("1");
    replica.freeze(); // connected, but it acknowledges nothing
    let frozen;
    try {
      frozen = await cache.invalidateTags(["t"]);
      assert.equal(await master.cli("exists", tagKey), "0", "the master took the delete");
    } finally {
      replica.thaw();
    }
    assert.equal(frozen.delivered, false, "not delivered while the replica could not acknowledge it");
    const landed = await Promise.race([frozen.landed.then(() => true), sleep(5000).then(() => false)]);
    assert.ok(landed, "it lands once the replica is back");
    assert.equal(await replica.cli("exists", tagKey), "0");

    // A soft invalidation (a new revision of the version) is held to the same: it falls back to a hard one.
    await cache.getOrSet("k", () => 3, { tags: ["t"], ttl: 60 });
    await onReplica("1");
    replica.freeze();
    let soft;
    try {
      soft = await cache.invalidateTags(["t"], { soft: true });
    } finally {
      replica.thaw();
    }
    assert.equal(
      soft.delivered,
      false,
      "a soft invalidation the replica could not acknowledge is not delivered",
    );
    await soft.landed;
    assert.equal(await replica.cli("exists", tagKey), "0");
  } finally {
    await cache.close();
    await replica.stop();
    await master.stop();
  }
});

test("cluster: stop the cluster", async () => {
  await shared?.stop();
  shared = undefined;
});

test("cluster: a store opened while a seed node accepts connections but never answers (frozen) discovers the cluster through the next one", async () => {
  const c = await cluster();
  const frozen = await ClusterNode.plain();
  frozen.freeze();
  // node-redis asks the seed nodes in turn from a random one: of eight stores, some start at the frozen node.
  const caches = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      createCache({
        url: `redis://${frozen.address},${c.nodes[1].address}`,
        prefix: `seed${i}`,
        logger: quiet,
      })),
  );
  try {
    const started = performance.now();
    const served = await Promise.all(caches.map(async (cache, i) => {
      while (performance.now() - started < 4000) {
        await cache.set(`k${i}`, i, { ttl: 60 });
        if (await cache.get(`k${i}`) === i) return performance.now() - started;
        await sleep(50);
      }
      return Infinity;
    }));
    console.log(`each store served a hit after ${served.map((ms) => ms.toFixed(0)).join(", ")} ms`);
    // The first connection has 1 s; a seed silent that long is left for the next one.
    assert.ok(served.every((ms) => ms < 2500), "every store served hits within 2.5 s");
  } finally {
    await Promise.all(caches.map((cache) => cache.close()));
    await frozen.stop();
  }
});

test("cluster: a master replaced at its address (CLUSTER RESET: a new node id) still takes the next invalidation", async () => {
  const c = await ReplicatedCluster.start(1000);
  try {
    const prefix = `rs${crypto.randomUUID().slice(0, 6)}`;
    const tagKey = `${prefix}:v1:t:item:{1}`;
    const writer = await createCache({ url: c.url, prefix, logger: quiet, deadlineMs: 1000 });
    let db = 1;
    const read = (cache: Cache) => cache.getOrSet("item:{1}", () => db, { ttl: 600, tags: ["item:{1}"] });
    await read(writer);
    // A link to the master is open once an invalidation landed (the first may wait for a replica to sync).
    const { landed: linked } = await writer.invalidateTags(["item:{1}"]);
    assert.ok(
      await Promise.race([linked.then(() => true), sleep(15_000).then(() => false)]),
      "landed at first",
    );
    const a = await c.masterOf(tagKey);
    const a2 = await c.replicaOf(a);
    const [oldId, idA2] = [await a.cli("cluster", "myid"), await a2.cli("cluster", "myid")];
    // Fail over to the replica, then replace the old master in place (a new id) and make it master again.
    await a2.cli("cluster", "failover");
    await c.promoted(a2);
    await until(async () => /^slave/.test(await a.cli("role")), "the old master demoted");
    await a.cli("cluster", "reset", "hard");
    const newId = await a.cli("cluster", "myid");
    assert.notEqual(newId, oldId);
    await a.cli("cluster", "meet", "127.0.0.1", String(a2.port));
    await until(async () => (await a2.cli("cluster", "nodes")).includes(newId), "the new node known");
    await until(async () => (await a.cli("cluster", "nodes")).includes(idA2), "the cluster known to it");
    await sleep(500);
    await a.cli("cluster", "replicate", idA2);
    await until(async () => /\nconnected\n/.test(await a.cli("role")), "in sync", 30000);
    for (const node of c.nodes) if (node !== a) await node.cli("cluster", "forget", oldId).catch(() => {});
    await a.cli("cluster", "failover");
    await c.promoted(a);
    await until(async () => (await c.masterOf(tagKey)).address === a.address, "it serves the slot again");
    // Its replica must be in sync for the write to be acknowledged (a resync waits 5 s by Redis's default).
    await until(async () => /\nconnected\n/.test(await a2.cli("role")), "its replica in sync", 30000);
    db = 2;
    const { landed } = await writer.invalidateTags(["item:{1}"]);
    const inTime = await Promise.race([landed.then(() => true), sleep(15_000).then(() => false)]);
    assert.ok(inTime, "the invalidation landed (it failed on the old node id forever)");
    assert.equal(await a.cli("exists", tagKey), "0");
    const fresh = await createCache({ url: c.url, prefix, logger: quiet });
    assert.equal(await read(fresh), 2, "another process reads the new value");
    // Under load a replica may acknowledge past the call's 1 s deadline (then it is queued, not refused).
    const next = (await writer.invalidateTags(["item:{1}"])).landed;
    assert.ok(
      await Promise.race([next.then(() => true), sleep(15_000).then(() => false)]),
      "and the next one lands",
    );
    await fresh.close();
    await writer.close();
  } finally {
    await c.stop();
  }
});
