/**
 * Writes that must survive a failover: the deletes and revisions of an invalidation. Redis replicates
 * asynchronously, so a master's reply says nothing about its replicas; a replica promoted without the write
 * (the master died, or was frozen and came back, before it passed the write on) would bring the old tag
 * version back, and with it every entry the invalidation removed.
 *
 * So these writes go, on a connection of their own to the master of their slot, with `WAIT` for as many
 * replicas as the master knew at the last write, and the master's current count of replicas it must reach
 * (`ROLE` on a single node; on a Cluster the replicas its `CLUSTER REPLICAS` does not flag failed, so that a
 * master that lost its replica to a promotion still counts it). They count as done only when at least that many
 * acknowledged; otherwise the call fails and the invalidation stays queued and is retried. An error reply (a
 * master since demoted answers `MOVED` or `READONLY`, a node reset answers `Unknown node`) fails it too, and
 * the next write opens a fresh link. A slot being migrated answers `ASK` for a key that moved already: the
 * command goes to the importing master after an `ASKING`, with that master's own `WAIT`. One round trip (two
 * when redirected), on invalidations only: reads never wait behind a `WAIT`,
 * since it blocks only its own connection. A user the server does not let ask (`NOPERM`: an ACL without
 * `@dangerous`, where `ROLE` and `CLUSTER` live) has its writes count once the master has them, as a client
 * that cannot open links of its own: delivered, though a failover may then lose one.
 *
 * @module
 */

import calculateSlot from "cluster-key-slot";
import { unref, within } from "../src/base/timers.ts";

/** Longest wait for the replicas' acknowledgments, well within a call's deadline. */
const WAIT_MS = 300;

/** A node-redis client, as far as durable writes go. */
export interface NodeConnection {
  sendCommand(args: string[]): Promise<unknown>;
  connect(): Promise<unknown>;
  readonly isOpen: boolean;
  readonly isReady?: boolean;
  on(event: "error", listener: (error: Error) => void): unknown;
  unref?(): void;
  destroy(): void;
  readonly options?: { socket?: object };
  duplicate(overrides?: { socket: object; disableOfflineQueue: boolean }): NodeConnection;
}

/** A node in node-redis's slot map. */
interface SlotNode {
  address: string;
}

/** What durable writes need of a cluster client. */
interface ClusterClient {
  readonly slots: readonly ({ master: SlotNode } | undefined)[];
  readonly nodeByAddress: ReadonlyMap<string, SlotNode>;
  nodeClient(node: SlotNode): Promise<NodeConnection>;
}

/** A command the node sent elsewhere: its slot is being migrated, and its key is on `address` already. */
class Asked {
  constructor(readonly address: string) {}
}
const ASK = /^ASK \d+ (\S+)/;

/** One write: the key that routes it, and the command. */
export interface DurableCommand {
  readonly key: string;
  readonly args: string[];
}

/** Runs writes so that a failover cannot lose them. */
export interface DurableWrites {
  /**
   * Runs the commands (each on its key's master) and resolves with their replies once every replica the
   * master must reach has them; rejects otherwise.
   */
  run(commands: readonly DurableCommand[]): Promise<unknown[]>;
  /** Drops the connections. */
  close(): void;
}

interface Link {
  connection: NodeConnection;
  /**
   * Asks the master which replicas it must reach: `ROLE`, or `CLUSTER REPLICAS <its id>`; `undefined` when the
   * user may not ask (`NOPERM`).
   */
  query?: string[];
  /** Replicas the master had to reach at the last write. */
  replicas: number;
}

/**
 * Durable writes over `client` (a node-redis client, or a cluster when `cluster`); `undefined` when it cannot
 * open connections of its own (a client without `duplicate`), whose writes then count once the master has them.
 * A link that gives no reply for `silentMs` while a write waits (a half-open socket never answers, and its
 * handshake never ends) is dropped, as the store's own connection is: the queue's retry opens a new one.
 */
export function durableWrites(
  client: unknown,
  cluster: boolean,
  silentMs: number,
): DurableWrites | undefined {
  if (!cluster && typeof (client as NodeConnection).duplicate !== "function") return undefined;
  const links = new Map<string, Promise<Link>>();
  // WAIT sends nothing while it waits: it must end before the link counts as silent.
  const waitMs = Math.max(1, Math.min(WAIT_MS, Math.floor(silentMs / 2)));

  const open = async (source: NodeConnection): Promise<Link> => {
    // Only next to a working connection: attempts at a server that is down would hold the process (a socket
    // still connecting is referenced) every time a queued invalidation is retried.
    if (source.isReady === false) throw new Error("Cannot write: the node is not connected");
    // It never reconnects by itself (a retry loop would hold the process, and the call waiting on it, for as long
    // as the server is down): a closed one is replaced at the next write.
    const socket = { ...source.options?.socket, reconnectStrategy: false };
    const connection = source.duplicate({ socket, disableOfflineQueue: true });
    connection.on("error", () => {}); // failures reach the caller through its commands
    connection.unref?.(); // the caller's deadline holds the process while it waits
    try {
      return await unlessSilent(connection, async (replied) => {
        await connection.connect().then(replied);
        try {
          const query = cluster
            ? ["CLUSTER", "REPLICAS", String(await connection.sendCommand(["CLUSTER", "MYID"]).then(replied))]
            : ["ROLE"];
          return { connection, query, replicas: mustReach(await connection.sendCommand(query), cluster) };
        } catch (error) {
          if (!String((error as Error)?.message).startsWith("NOPERM")) throw error;
          return { connection, replicas: 0 };
        }
      });
    } catch (error) {
      drop(connection);
      throw error;
    }
  };
  /**
   * What `work` on `connection` resolves with; the connection is dropped once it gave no reply for `silentMs`
   * (`work` calls `replied` on each), so a slow master that keeps answering keeps its link.
   */
  const unlessSilent = async <T>(
    connection: NodeConnection,
    work: (replied: <V>(value: V) => V) => Promise<T>,
  ): Promise<T> => {
    let heard = performance.now();
    const replied = <V>(value: V) => (heard = performance.now(), value);
    const timer = setInterval(() => {
      if (performance.now() - heard >= silentMs) drop(connection);
    }, Math.max(10, silentMs / 4));
    unref(timer);
    try {
      return await work(replied);
    } finally {
      clearInterval(timer);
    }
  };
  const link = (address: string, source: () => Promise<NodeConnection>): Promise<Link> => {
    let found = links.get(address);
    if (!found) {
      // The node's own connection may be (re)connecting: waited for no longer than a silent link is, so that a
      // connect that never ends does not hold this address's link, and every write to it, for good.
      found = within(source(), silentMs, `Cannot write to ${address}`).then(open);
      found.catch(() => links.delete(address));
      links.set(address, found);
    }
    return found;
  };
  const write = async (
    address: string,
    source: () => Promise<NodeConnection>,
    commands: DurableCommand[],
    asking = false,
  ): Promise<unknown[]> => {
    const current = await link(address, source);
    const { connection } = current;
    if (!connection.isOpen) { // it gave up reconnecting: open another next time
      links.delete(address);
      throw new Error(`Cannot write to ${address}: the connection closed`);
    }
    // Redirected commands go to a slot's importing node, each after an ASKING.
    const sent = commands.flatMap((c) => asking ? [["ASKING"], c.args] : [c.args]);
    // One pipeline: the writes, WAIT for the replicas known so far, and what the master must reach now.
    if (current.query) sent.push(["WAIT", String(current.replicas), String(waitMs)], current.query);
    const replies = await unlessSilent(
      connection,
      (replied) =>
        Promise.all(sent.map((args) =>
          connection.sendCommand(args).then(replied, (error) => {
            replied(error);
            const asked = cluster && !asking ? ASK.exec(String((error as Error)?.message)) : null;
            if (asked) return new Asked(asked[1]);
            throw error;
          })
        )),
    )
      .catch((error) => {
        // The next write opens a fresh link: this one may be closed, or ask a node that is no more.
        links.delete(address);
        drop(connection);
        throw error;
      });
    if (current.query) {
      const needed = mustReach(replies.pop(), cluster);
      const acknowledged = Number(replies.pop());
      current.replicas = needed;
      if (acknowledged < needed) {
        throw new Error(
          `Cannot count the write as done: ${acknowledged} of the ${needed} replicas of ${address} acknowledged it`,
        );
      }
    }
    const out = asking ? replies.filter((_, i) => i % 2 === 1) : replies;
    await Promise.all([...redirects(out)].map(async ([to, asked]) => {
      const node = (client as ClusterClient).nodeByAddress.get(to);
      if (!node) throw new Error(`Cannot write: ${address} sent a command to ${to}, which is not known yet`);
      const source = () => (client as ClusterClient).nodeClient(node);
      const answers = await write(to, source, asked.map((i) => commands[i]), true);
      asked.forEach((i, j) => out[i] = answers[j]);
    }));
    return out;
  };

  return {
    async run(commands) {
      if (!cluster) {
        return await write("the server", () => Promise.resolve(client as NodeConnection), [...commands]);
      }
      const { slots, nodeClient } = client as ClusterClient;
      const groups = new Map<SlotNode, DurableCommand[]>();
      const order = new Map<DurableCommand, number>();
      commands.forEach((command, i) => {
        order.set(command, i);
        const node = slots[calculateSlot(command.key)]?.master;
        if (!node) throw new Error(`Cannot write ${command.key}: its slot has no known master`);
        const group = groups.get(node);
        if (group) group.push(command);
        else groups.set(node, [command]);
      });
      const out: unknown[] = new Array(commands.length);
      await Promise.all(
        [...groups].map(async ([node, group]) => {
          const replies = await write(node.address, () => nodeClient.call(client, node), group);
          group.forEach((command, j) => out[order.get(command)!] = replies[j]);
        }),
      );
      return out;
    },
    close() {
      for (const found of links.values()) found.then(({ connection }) => drop(connection), () => {});
      links.clear();
    },
  };
}

/** The commands (by index) that replies sent to another node: its address → their indexes. */
function redirects(replies: readonly unknown[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  replies.forEach((reply, i) => {
    if (!(reply instanceof Asked)) return;
    const group = out.get(reply.address);
    if (group) group.push(i);
    else out.set(reply.address, [i]);
  });
  return out;
}

/** Destroys a connection, which throws when it had closed already (it gave up reconnecting). */
function drop(connection: NodeConnection): void {
  try {
    connection.destroy();
  } catch { /* closed already */ }
}

/**
 * How many replicas a write on this master must reach, from its `ROLE` (connected replicas) or its
 * `CLUSTER REPLICAS` (its replicas not flagged failed: one that is only unreachable may still be promoted; a
 * master since demoted answers an error instead). Throws when the node is not a master.
 */
function mustReach(reply: unknown, cluster: boolean): number {
  if (!cluster) {
    const [role, , replicas] = reply as [string, number, unknown[]];
    if (role !== "master") throw new Error(`Cannot write: the node is a ${role}`);
    return replicas.length;
  }
  return (reply as string[]).filter((line) =>
    !String(line).split(" ")[2].split(",").some((f) => f === "fail" || f === "noaddr" || f === "handshake")
  ).length;
}
