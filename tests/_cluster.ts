/**
 * A Redis Cluster with replicas, owned by one test: three masters and one replica each on loopback, with a
 * short node timeout so that a failover takes a second or two. Its nodes can be frozen (`SIGSTOP`), thawed,
 * killed (`SIGKILL`) and restarted, failed over by hand (`CLUSTER FAILOVER`), and a slot can be moved to
 * another master, while a test runs load against it.
 *
 * @module
 */

import { redisCli } from "./_servers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` passes, polling every 25 ms; throws naming `what` after `ms`. */
export async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  ms = 20_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(25);
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** `count` free loopback ports whose cluster bus ports (+10000) are free too. */
function clusterPorts(count: number): number[] {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count && attempt < 500; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 25000);
    if (ports.includes(port) || ports.includes(port + 10000) || ports.includes(port - 10000)) continue;
    try {
      const listeners = [port, port + 10000].map((p) => Deno.listen({ hostname: "127.0.0.1", port: p }));
      listeners.forEach((l) => l.close());
      ports.push(port);
    } catch { /* taken: try another */ }
  }
  if (ports.length < count) throw new Error("Cannot find free cluster ports");
  return ports;
}

/** One redis-server of the cluster, or (with `args` of its own) a plain one, such as a replica. */
export class ClusterNode {
  readonly port: number;
  readonly #dir = Deno.makeTempDirSync();
  readonly #args: string[];
  #child?: Deno.ChildProcess;

  constructor(port: number, nodeTimeoutMs: number | string[]) {
    this.port = port;
    this.#args = Array.isArray(nodeTimeoutMs) ? nodeTimeoutMs : [
      ...["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"],
      ...["--cluster-node-timeout", String(nodeTimeoutMs)],
      // A replica of a master that was unreachable for a while may still be promoted: what failover tests need.
      ...["--cluster-replica-validity-factor", "0"],
    ];
  }

  /** A plain redis-server (no cluster) on a free port; `args` are extra server arguments. */
  static async plain(args: string[] = []): Promise<ClusterNode> {
    const node = new ClusterNode(clusterPorts(1)[0], args);
    await node.start();
    return node;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** (Re)starts the process; its nodes.conf keeps its identity and role across restarts. */
  async start(): Promise<void> {
    this.#child = new Deno.Command("redis-server", {
      args: [
        ...["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.#dir],
        ...["--save", "", "--appendonly", "no"],
        ...this.#args,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await until(async () => (await this.cli("ping")) === "PONG", `redis-server :${this.port}`);
  }

  /** redis-cli against this node. */
  cli(...args: string[]): Promise<string> {
    return redisCli(this.port, ...args);
  }

  /** Freezes the process (`SIGSTOP`): its sockets stay open, nothing answers. */
  freeze(): void {
    this.#child?.kill("SIGSTOP");
  }

  /** Thaws a frozen process (`SIGCONT`). */
  thaw(): void {
    this.#child?.kill("SIGCONT");
  }

  /** Kills the process at once (`SIGKILL`). */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child) return;
    child.kill("SIGCONT"); // a frozen process is killed as well, but let it go
    child.kill("SIGKILL");
    await child.status;
  }

  async stop(): Promise<void> {
    await this.kill();
    Deno.removeSync(this.#dir, { recursive: true });
  }
}

/** What a node says about itself: its role, and the slots it serves. */
interface NodeLine {
  id: string;
  address: string;
  master: boolean;
  masterId: string;
  failed: boolean;
}

/** Three masters, one replica each. */
export class ReplicatedCluster {
  readonly nodes: readonly ClusterNode[];

  private constructor(nodes: ClusterNode[]) {
    this.nodes = nodes;
  }

  /** Starts six nodes and joins them (`redis-cli --cluster create … --cluster-replicas 1`). */
  static async start(nodeTimeoutMs = 1000): Promise<ReplicatedCluster> {
    const nodes = clusterPorts(6).map((port) => new ClusterNode(port, nodeTimeoutMs));
    const cluster = new ReplicatedCluster(nodes);
    try {
      await Promise.all(nodes.map((n) => n.start()));
      const create = await new Deno.Command("redis-cli", {
        args: [
          "--cluster",
          "create",
          ...nodes.map((n) => n.address),
          "--cluster-replicas",
          "1",
          "--cluster-yes",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!create.success) {
        throw new Error(`redis-cli --cluster create failed: ${new TextDecoder().decode(create.stdout)}`);
      }
      await cluster.settled();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** The seed URL: the three nodes created as masters (a client learns the rest). */
  get url(): string {
    return `redis://${this.nodes.slice(0, 3).map((n) => n.address).join(",")}`;
  }

  /** The node with `address`. */
  node(address: string): ClusterNode {
    const node = this.nodes.find((n) => n.address === address);
    if (!node) throw new Error(`No node ${address}`);
    return node;
  }

  /** The nodes as `asker` sees them (`CLUSTER NODES`). */
  async view(asker: ClusterNode): Promise<NodeLine[]> {
    const text = await asker.cli("cluster", "nodes");
    return text.split("\n").filter(Boolean).map((line) => {
      const [id, address, flags, masterId] = line.split(" ");
      return {
        id,
        address: address.split("@")[0],
        master: flags.includes("master"),
        masterId,
        failed: /(^|,)fail(,|$)/.test(flags),
      };
    });
  }

  /** The master serving the slot of `key`, as `asker` (by default the first live node) sees it. */
  async masterOf(key: string, asker = this.nodes[0]): Promise<ClusterNode> {
    const slot = Number(await asker.cli("cluster", "keyslot", key));
    const slots = await asker.cli("cluster", "slots"); // nested array, one value per line
    const lines = slots.split("\n");
    for (let i = 0; i + 3 < lines.length; i++) {
      const from = Number(lines[i]), to = Number(lines[i + 1]);
      if (from <= slot && slot <= to && lines[i + 2] === "127.0.0.1") {
        return this.node(`127.0.0.1:${lines[i + 3]}`);
      }
    }
    throw new Error(`No master for slot ${slot}: ${slots}`);
  }

  /** The replica of `master`, as it sees itself. */
  async replicaOf(master: ClusterNode): Promise<ClusterNode> {
    const view = await this.view(master);
    const myself = view.find((n) => n.address === master.address)!;
    const replica = view.find((n) => !n.master && n.masterId === myself.id);
    if (!replica) throw new Error(`${master.address} has no replica`);
    return this.node(replica.address);
  }

  /** Waits until `node` reports itself a master. */
  async promoted(node: ClusterNode, ms = 20_000): Promise<void> {
    await until(async () => /^master/.test(await node.cli("role")), `${node.address} promoted`, ms);
  }

  /**
   * Waits until every live node reports the cluster ok, all agree on the masters, every replica is attached
   * to its master and every master has a replica.
   */
  async settled(ms = 30_000): Promise<void> {
    await until(
      async () => {
        const live: ClusterNode[] = [];
        for (const node of this.nodes) if ((await node.cli("ping")) === "PONG") live.push(node);
        const infos = await Promise.all(live.map((n) => n.cli("cluster", "info")));
        if (!infos.every((i) => /cluster_state:ok/.test(i))) return false;
        const views = await Promise.all(live.map((n) => this.view(n)));
        const masters = (v: NodeLine[]) =>
          v.filter((n) => n.master && !n.failed).map((n) => n.address).sort().join();
        if (new Set(views.map(masters)).size !== 1) return false;
        const roles = await Promise.all(live.map((n) => n.cli("role")));
        // Every replica is attached to its master, and every master has a replica.
        return roles.every((role) =>
          /^master/.test(role) ? role.split("\n").length > 2 : /\nconnected\n/.test(role)
        );
      },
      "the cluster to settle",
      ms,
    );
  }

  /**
   * Moves the slot of `key` (and the keys in it) from its master to another one, the way
   * `redis-cli --cluster reshard` does: SETSLOT IMPORTING/MIGRATING, MIGRATE the keys, SETSLOT NODE everywhere.
   */
  async migrateSlotOf(key: string): Promise<{ from: ClusterNode; to: ClusterNode }> {
    const { from, to, finish } = await this.startMigration(key);
    await finish();
    return { from, to };
  }

  /**
   * Moves `key`'s slot to another master up to its last step: its keys (but `keep`) are on the importing
   * master, and the slot is still its old master's (which answers `ASK` for them) until `finish()`.
   */
  async startMigration(
    key: string,
    keep: readonly string[] = [],
  ): Promise<{ from: ClusterNode; to: ClusterNode; finish(): Promise<void> }> {
    const from = await this.masterOf(key);
    const view = await this.view(from);
    const target = view.find((n) => n.master && !n.failed && n.address !== from.address)!;
    const to = this.node(target.address);
    const fromId = view.find((n) => n.address === from.address)!.id;
    const slot = await from.cli("cluster", "keyslot", key);
    await to.cli("cluster", "setslot", slot, "importing", fromId);
    await from.cli("cluster", "setslot", slot, "migrating", target.id);
    for (;;) {
      const keys = (await from.cli("cluster", "getkeysinslot", slot, "100")).split("\n")
        .filter((k) => k && !keep.includes(k));
      if (keys.length === 0) break;
      await from.cli("migrate", "127.0.0.1", String(to.port), "", "0", "5000", "keys", ...keys);
    }
    const finish = async () => {
      for (const node of [to, from, ...this.nodes.filter((n) => n !== to && n !== from)]) {
        await node.cli("cluster", "setslot", slot, "node", target.id);
      }
    };
    return { from, to, finish };
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}
