/**
 * The connection a Redis store opens from a URL: it never makes callers wait on a dead server, and it never
 * keeps a process alive on its own.
 *
 * - No offline queue: commands fail at once while disconnected (the cache serves from the loader).
 * - The sockets are unreferenced while no call is in flight (Node, Bun, Deno): a script ends when its work
 *   does, with or without `closeCache()`. A call references them until it settles.
 * - Reconnects run while calls wait; an idle connection that drops stops retrying (a retry timer would keep
 *   the process alive) and is reopened by the next call, which waits for it at most `connectTimeoutMs`.
 *   Background calls (the invalidation queue's retries) reopen it too, at their own unreferenced cadence.
 *
 * @module
 */

import { createClient, createCluster } from "@redis/client";
import type { RedisTarget } from "./redis.ts";
import { unref } from "../src/timers.ts";

/** What node-redis clients and clusters have in common, as far as connecting goes. */
interface Connectable {
  connect(): Promise<unknown>;
  readonly isOpen: boolean;
  readonly isReady?: boolean;
  ref?(): void;
  unref?(): void;
  on(event: "error", listener: (error: Error) => void): unknown;
}

interface ClusterNodes {
  masters: { client?: Connectable }[];
  replicas: { client?: Connectable }[];
}

/** An owned connection: the client, and the bracket every call goes through. */
export interface RedisConnection<Client> {
  readonly client: Client;
  /** `true` once connected, else why the first connection did not succeed within the timeout. */
  readonly ready: Promise<true | string>;
  /**
   * Marks a call in flight; a promise to await first while the connection is being (re)opened. A `background`
   * call (no caller waits) neither holds the process nor keeps reconnects retrying.
   */
  enter(background: boolean): Promise<unknown> | undefined;
  /** Marks a call settled. */
  leave(background: boolean): void;
}

const RECONNECT_CAP_MS = 100; // low, so that queued invalidations land soon after the server is back

/**
 * The reference last given to each client. A socket still connecting takes each `ref()`/`unref()` as one more
 * `connect` listener (Node and Deno): calls settling while a node reconnects added them by the dozen
 * (`MaxListenersExceededWarning`). So a client that is not ready is unreferenced once and left alone; callers
 * waiting for it hold the process with their own timers.
 */
const held = new WeakMap<Connectable, boolean>();
function hold(c: Connectable, ref: boolean): void {
  const wanted = ref && c.isReady !== false;
  if (held.get(c) === wanted) return;
  held.set(c, wanted);
  wanted ? c.ref?.() : c.unref?.();
}

/** Opens a client (or a cluster) for `target`. */
export function openRedis<Client>(target: RedisTarget, connectTimeoutMs: number): RedisConnection<Client> {
  let inFlight = 0;
  const tls = target.tls ? { tls: true as const } : {};
  const socket = {
    connectTimeout: connectTimeoutMs,
    ...tls,
    reconnectStrategy: (retries: number, cause: Error) =>
      inFlight === 0 ? cause : Math.min(25 * 2 ** retries, RECONNECT_CAP_MS),
  };
  const auth = { username: target.username, password: target.password };
  const client = (target.cluster
    ? createCluster({
      rootNodes: target.nodes.map(({ host, port }) => ({ socket: { host, port, ...tls } })),
      defaults: { ...auth, socket, disableOfflineQueue: true },
    })
    : createClient({
      ...auth,
      database: target.database,
      socket: { ...socket, host: target.nodes[0].host, port: target.nodes[0].port },
      disableOfflineQueue: true,
    })) as unknown as Connectable;
  // A cluster's sockets belong to its node clients, which it creates as it discovers the topology.
  const connectables = (): Connectable[] => {
    if (!target.cluster) return [client];
    const { masters, replicas } = client as unknown as ClusterNodes;
    return [...masters, ...replicas].flatMap((node) => node.client ? [node.client] : []);
  };
  /** Every socket is open: checked on each call, so without allocating on a single node. */
  const allOpen = (): boolean => {
    if (!client.isOpen) return false;
    if (!target.cluster) return true;
    const { masters, replicas } = client as unknown as ClusterNodes;
    for (const node of masters) if (node.client && !node.client.isOpen) return false;
    for (const node of replicas) if (node.client && !node.client.isOpen) return false;
    return true;
  };
  // node-redis emits errors on every failed reconnect; failures of real calls reach the cache, which
  // reports them (rate-limited). An unhandled "error" event would crash the process.
  let lastError = "no answer";
  client.on("error", (error: Error) => lastError = error?.message ?? String(error));

  const reason = () =>
    // Authentication is named as such, not as "the client is offline".
    /^(WRONGPASS|NOAUTH|ERR AUTH)/.test(lastError)
      ? `authentication failed (${lastError})`
      : `no connection within ${connectTimeoutMs} ms (${lastError})`;
  /** Connects whatever is closed; resolves once connected, on giving up, or after `connectTimeoutMs`. */
  const open = (): Promise<true | string> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(reason()), connectTimeoutMs);
      unref(timer); // a caller that waits holds the process with its own timers
      const closed = client.isOpen ? connectables().filter((c) => !c.isOpen) : [client];
      Promise.all(closed.map((c) => c.connect())).then(() => resolve(true), () => resolve(reason()))
        .finally(() => clearTimeout(timer));
    });
  const refAll = (ref: boolean) => {
    for (const c of connectables()) hold(c, ref);
  };

  let opening: Promise<unknown> | undefined;
  const enter = (background: boolean): Promise<unknown> | undefined => {
    if (!background && inFlight++ === 0) refAll(true);
    if (opening) return opening;
    if (allOpen()) return undefined;
    return opening = open().then(() => {
      opening = undefined;
      if (inFlight === 0) refAll(false); // sockets the cluster created meanwhile
    });
  };
  const leave = (background: boolean): void => {
    if (!background && --inFlight === 0) refAll(false);
  };

  inFlight++; // the first connection counts as a call: it retries until its timeout
  const ready = open().then((result) => {
    opening = undefined;
    leave(false);
    return result;
  });
  opening = ready;
  return { client: client as unknown as Client, ready, enter, leave };
}
