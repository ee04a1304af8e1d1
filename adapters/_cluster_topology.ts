/**
 * Keeps a Redis Cluster client's slot map current when a master stops answering. node-redis learns a new
 * topology only from a `MOVED` or `ASK` reply, which a dead or frozen master never sends: without this, the
 * slots of a master that died stay mapped to it after its replica took over, until it comes back.
 *
 * A call that fails without a reply from Redis (a dropped or refused connection, or a deadline that passed
 * with the call still out) starts checks: a node that answers is asked for `CLUSTER SLOTS`, and when a slot's
 * master changed, the client rediscovers the topology from that node. Checks repeat every
 * {@linkcode CHECK_INTERVAL_MS} until every master's connection is up again (the dead one was replaced) and no
 * call failed for {@linkcode QUIET_MS} (a frozen master keeps its connection), on an unreferenced timer, so an outage costs a few cheap commands a second and a promotion is seen within that
 * interval, whether or not calls are made meanwhile (an open circuit breaker lets few through).
 *
 * @module
 */

import { ErrorReply } from "@redis/client";
import { unref } from "../src/base/timers.ts";

/** While failures go on, the slot map is checked this often: hits resume this soon after a promotion. */
const CHECK_INTERVAL_MS = 250;
/** Checks stop once no call failed for this long (and every master's connection is up). */
const QUIET_MS = 3000;
/** A node that does not answer `CLUSTER SLOTS` within this is skipped (it may be the frozen one). */
const ASK_TIMEOUT_MS = 500;

/** A node client, as far as checking the topology goes. */
export interface NodeClient {
  readonly isReady?: boolean;
  sendCommand(args: string[]): Promise<unknown>;
  readonly options?: unknown;
}

/** One node in node-redis's slot map. */
interface SlotNode {
  address: string;
  client?: NodeClient;
}

/** What the checker reads from node-redis's cluster (its slot map, and its rediscovery). */
export interface ClusterInternals {
  readonly slots: readonly ({ master: SlotNode } | undefined)[];
  readonly masters: readonly SlotNode[];
  readonly replicas?: readonly SlotNode[];
  readonly _slots?: { rediscover(startWith: NodeClient): Promise<void> };
}

/** Tells the cluster client about failed calls, so that it rediscovers the slots when they moved. */
export interface TopologyWatch {
  /** A call failed without a reply from Redis (a connection error or a timeout). */
  failed(): void;
  /**
   * Follows a call: its failure without a reply, or its `signal` aborting while it is still out, count. A reply
   * to a call that was out while the slot map changed is refused (the caller sees a failure, a miss): it may
   * come from a master that was frozen, replaced meanwhile, and answered when it thawed, before it learned that
   * it was demoted, with the state from before the invalidations its successor took.
   */
  watch<T>(reply: Promise<T>, signal?: AbortSignal): Promise<T>;
  /**
   * Stops the checks (the client is closing). Returns the rediscovery in flight, if one is: node-redis connects
   * the nodes it found when it ends, after the close, and those sockets would hold the process.
   */
  stop(): Promise<void> | undefined;
}

/** Watches `cluster`'s topology. */
export function watchTopology(cluster: ClusterInternals): TopologyWatch {
  let checking = false;
  let stopped = false;
  let rediscovering: Promise<void> | undefined;
  let lastFailure = -Infinity;
  /** Calls out per deadline signal, so that a signal that aborts after its calls settled is no failure. */
  const out = new WeakMap<AbortSignal, number>();

  const check = async () => {
    for (const node of answering(cluster)) {
      const slots = await within(node.client!.sendCommand(["CLUSTER", "SLOTS"]), ASK_TIMEOUT_MS);
      if (!Array.isArray(slots)) continue; // no answer in time: ask another node
      if (stopped || !moved(cluster, slots)) return;
      const running = rediscovering = cluster._slots!.rediscover(node.client!);
      running.finally(() => {
        if (rediscovering === running) rediscovering = undefined;
      }).catch(() => {});
      await within(running, ASK_TIMEOUT_MS * 4);
      return;
    }
  };
  const failed = () => {
    lastFailure = performance.now();
    if (checking || stopped || !cluster._slots) return;
    checking = true;
    const again = async () => {
      await check().catch(() => {});
      const quiet = performance.now() - lastFailure > QUIET_MS;
      if (stopped || quiet && cluster.masters.every((node) => node.client?.isReady)) checking = false;
      else unref(setTimeout(again, CHECK_INTERVAL_MS));
    };
    again();
  };
  const onAbort = (event: Event) => {
    if ((out.get(event.target as AbortSignal) ?? 0) > 0) failed();
  };
  return {
    failed,
    stop() {
      stopped = true;
      return rediscovering;
    },
    watch(reply, signal) {
      // node-redis replaces the array whenever it (re)discovers; the first discovery, made while this call waits
      // for the connection to open, is no change.
      const slots = cluster.masters.length > 0 ? cluster.slots : undefined;
      if (signal) {
        const calls = out.get(signal);
        if (calls === undefined) signal.addEventListener("abort", onAbort, { once: true });
        out.set(signal, (calls ?? 0) + 1);
      }
      return reply.then(
        (value) => {
          if (signal) out.set(signal, out.get(signal)! - 1);
          if (slots && cluster.slots !== slots) {
            throw new Error("Cannot use the reply: the slot map changed while it was out");
          }
          return value;
        },
        (error) => {
          if (signal) out.set(signal, out.get(signal)! - 1);
          // A reply means the connection works, unless it says the slot moved or the master was demoted (a
          // durable write's own connection gets these instead of node-redis).
          if (!(error instanceof ErrorReply) || /^(MOVED|ASK|READONLY|CLUSTERDOWN)/.test(error.message)) {
            failed();
          }
          throw error;
        },
      );
    },
  };
}

/** Masters with an open, ready connection first (in random order), so a dead one is asked last if at all. */
function answering(cluster: ClusterInternals): SlotNode[] {
  const nodes = cluster.masters.filter((node) => node.client?.isReady);
  for (let i = nodes.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [nodes[i], nodes[j]] = [nodes[j], nodes[i]];
  }
  return nodes;
}

/** `true` when a slot range of a `CLUSTER SLOTS` reply has another master than the client's map. */
function moved(cluster: ClusterInternals, reply: unknown[]): boolean {
  for (const range of reply) {
    if (!Array.isArray(range) || !Array.isArray(range[2])) continue;
    const [from, to, [host, port]] = range as [number, number, [string, number]];
    const address = `${host}:${port}`;
    for (let slot = Number(from); slot <= Number(to); slot++) {
      if (cluster.slots[slot]?.master.address !== address) return true;
    }
  }
  return false;
}

/** `promise`'s value, or `undefined` after `ms` (the promise is left to settle on its own). */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
    unref(timer);
  });
  return Promise.race([promise.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}
