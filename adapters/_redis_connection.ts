/**
 * The connection a Redis store opens from a URL: it never makes callers wait on a dead server, and it never
 * keeps a process alive on its own.
 *
 * - No offline queue: commands fail at once while disconnected (the cache serves from the loader).
 * - The sockets are unreferenced while no call is in flight (Node, Bun, Deno): a script ends when its work
 *   does, with or without `closeCache()`. A call references them until it settles.
 * - Reconnects run while calls wait; an idle connection that drops stops retrying (a retry timer would keep
 *   the process alive) and is reopened by the next call, which waits for it at most `connectTimeoutMs`. On a
 *   Cluster, while some master's connection is open, a closed one reopens in the background instead: the calls
 *   to its slots fail at once meanwhile, and the other masters' do not wait.
 *   Background calls (the invalidation queue's retries) reopen it too, at their own unreferenced cadence.
 * - Silence is death: an attempt to connect that has not finished (TCP, TLS and the handshake) within
 *   `connectTimeoutMs` is abandoned, and so is an open connection that gave no reply for `connectTimeoutMs`
 *   while a command waited for one (a half-open socket, which the OS may not notice for many minutes; TCP
 *   keepalive, on by default, probes idle sockets only, and node-redis' `socketTimeout` is reset by writes).
 *   On a Cluster each master's connection is watched on its own: the replies of the others do not vouch for
 *   it.
 * - The first connection reports a refusal at once, and has at least `FIRST_CONNECT_MS` otherwise.
 *
 * @module
 */

import { createClient, createCluster } from "@redis/client";
import { unref } from "../src/base/timers.ts";

/** A parsed Redis URL. */
export interface RedisTarget {
  /** `rediss:` */
  readonly tls: boolean;
  /** ACL user. */
  readonly username?: string;
  /** Password (never logged). */
  readonly password?: string;
  /** Database number (single node only). */
  readonly database?: number;
  /** One node, or the seed nodes of a Cluster. */
  readonly nodes: readonly { host: string; port: number }[];
  /** More than one node: a Redis Cluster. */
  readonly cluster: boolean;
}

/** What node-redis clients and clusters have in common, as far as connecting goes. */
interface Connectable {
  connect(): Promise<unknown>;
  readonly isOpen: boolean;
  readonly isReady?: boolean;
  destroy(): void;
  ref?(): void;
  unref?(): void;
  on(event: "error" | "ready", listener: (error: Error) => void): unknown;
}

interface ClusterNodes {
  masters: { client?: Connectable }[];
  replicas: { client?: Connectable }[];
  /** Each hash slot's master, as node-redis routes commands (replaced when it rediscovers). */
  slots: ({ master: { client?: Connectable } } | undefined)[];
}

/** An owned connection: the client, and the bracket every call goes through. */
export interface RedisConnection<Client> {
  readonly client: Client;
  /** `true` once connected, else why the first connection did not succeed within the timeout. */
  readonly ready: Promise<true | string>;
  /**
   * Marks a call in flight; a promise to await first while the connection is being (re)opened. A `background`
   * call (no caller waits) neither holds the process nor keeps reconnects retrying. A `linked` one runs on a
   * connection of its own (a durable write's link): its wait is no silence of this one.
   */
  enter(background: boolean, linked?: boolean): Promise<unknown> | undefined;
  /** Marks a call settled. */
  leave(background: boolean, linked?: boolean): void;
  /**
   * Follows one command's `reply` from a Cluster's master for `slot`: a master that leaves its commands
   * unanswered for `connectTimeoutMs` has its connection dropped. (A single node's calls are followed by
   * `enter`/`leave`.)
   */
  follow<T>(slot: number, reply: Promise<T>): Promise<T>;
}

/**
 * Watches a connection for silence: `drop` runs once no call has settled for `silentMs` while one was out
 * (checked a few times per `silentMs` by one unreferenced timer, which runs only while calls are out).
 * Counting replies, not timeouts, keeps a slow but answering server connected: under load its replies keep
 * coming.
 */
class SilenceWatch {
  #out = 0;
  #settled = 0;
  #seen = 0;
  #quietSince = 0;
  #timer?: ReturnType<typeof setInterval>;

  constructor(readonly silentMs: number, readonly drop: () => void) {}

  /** A call went out. */
  sent(): void {
    if (this.#out++ === 0 && this.#timer === undefined) this.#start();
  }

  /** A call settled (a reply, or a failure); bound, to be handed to `then`. */
  readonly settled = (): void => {
    this.#out--;
    this.#settled++;
  };

  /** Forgets the silence so far (a connection just opened). */
  reset(): void {
    this.#quietSince = performance.now();
  }

  #start(): void {
    this.#seen = this.#settled;
    this.#quietSince = performance.now();
    this.#timer = setInterval(() => this.#check(), Math.max(10, this.silentMs / 4));
    unref(this.#timer);
  }

  #check(): void {
    if (this.#out <= 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    } else if (this.#settled !== this.#seen) {
      this.#seen = this.#settled;
      this.#quietSince = performance.now();
    } else if (performance.now() - this.#quietSince >= this.silentMs) {
      this.#quietSince = performance.now();
      this.drop();
    }
  }
}

const RECONNECT_CAP_MS = 100; // low, so that queued invalidations land soon after the server is back
/**
 * The least time the first connection has: the cache waits for it no longer than its deadline, but a start
 * slower than that (a cold process, TLS far away) still connects rather than being dropped and retried.
 */
const FIRST_CONNECT_MS = 1000;
const AUTH_FAILED = /^(WRONGPASS|NOAUTH|ERR AUTH)/;

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
  let starting = true;
  const firstConnectMs = Math.max(connectTimeoutMs, FIRST_CONNECT_MS);
  const tls = target.tls ? { tls: true as const } : {};
  const socket = {
    connectTimeout: firstConnectMs, // for TCP alone; `open` bounds every attempt
    ...tls,
    // The first connection reports a refusal at once (the cache starts with its breaker open), and a refused
    // password is not retried in a loop: the next call tries again.
    reconnectStrategy: (retries: number, cause: Error) =>
      starting || inFlight === 0 || AUTH_FAILED.test(cause?.message)
        ? cause
        : Math.min(25 * 2 ** retries, RECONNECT_CAP_MS),
  };
  const auth = { username: target.username, password: target.password };
  const client = (target.cluster
    ? createCluster({
      // A root node's options serve only to ask it for the slot map, on a connection of its own that node-redis
      // gives no time limit: one that accepts connections but never answers (frozen) would hold the discovery
      // for good instead of letting it ask the next node. `socketTimeout` drops that connection once it was
      // silent this long; the nodes' own connections do not have it (an idle one would be dropped).
      rootNodes: target.nodes.map(({ host, port }) => ({
        socket: { host, port, ...tls, socketTimeout: firstConnectMs },
      })),
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
    if (!target.cluster) return !down(client);
    if (!client.isOpen) return false;
    const { masters, replicas } = client as unknown as ClusterNodes;
    for (const node of masters) if (node.client && down(node.client)) return false;
    for (const node of replicas) if (node.client && down(node.client)) return false;
    return true;
  };
  /** A connection that is closed, or stuck in a handshake (then dropped: see `stuck`). */
  const down = (c: Connectable): boolean => !c.isOpen || !c.isReady && stuck(c);
  // node-redis emits errors on every failed reconnect; failures of real calls reach the cache, which
  // reports them (rate-limited). An unhandled "error" event would crash the process.
  let lastError = "no answer";
  client.on("error", (error: Error) => lastError = error?.message ?? String(error));

  const reason = (timeoutMs?: number) =>
    // Authentication is named as such, not as "the client is offline".
    AUTH_FAILED.test(lastError)
      ? `authentication failed (${lastError})`
      : timeoutMs
      ? `no connection within ${timeoutMs} ms (${lastError})`
      : `cannot connect (${lastError})`;
  /**
   * Drops a connection (a single node's, or one node's of a cluster; never the cluster's own, which would
   * forget the topology): the commands waiting on it fail at once, and the next call opens a new one.
   */
  const drop = (c: Connectable) => {
    unreadySince.delete(c); // its next connection is timed afresh
    if (c.isOpen) c.destroy();
  };
  /** Some master's connection is open (none is after an idle spell that closed them all: calls wait then). */
  const anyMasterOpen = () => (client as unknown as ClusterNodes).masters.some((node) => node.client?.isOpen);
  /**
   * `true` (and the connection dropped) once node-redis has been reconnecting it by itself (a socket closed
   * while calls were out) for `connectTimeoutMs`: its handshake has no bound. Calls meanwhile fail at once, as
   * offline; the first one after that opens a new connection. Asked only of a connection that is not ready.
   */
  const unreadySince = new WeakMap<Connectable, number>();
  const watchedReady = new WeakSet<Connectable>();
  const stuck = (c: Connectable): boolean => {
    const since = unreadySince.get(c);
    if (since === undefined) {
      unreadySince.set(c, performance.now());
      if (!watchedReady.has(c)) c.on("ready", () => unreadySince.delete(c));
      watchedReady.add(c);
      return false;
    }
    if (performance.now() - since < connectTimeoutMs) return false;
    unreadySince.delete(c);
    drop(c);
    return true;
  };
  /** A silence watch that drops `connection()` (read when it fires: a cluster replaces its node clients). */
  const silenceWatch = (connection: () => Connectable | undefined) =>
    new SilenceWatch(connectTimeoutMs, () => {
      const c = connection();
      if (!c?.isReady) return;
      lastError = `no reply within ${connectTimeoutMs} ms: the connection was dropped`;
      drop(c);
    });
  const watch = target.cluster ? undefined : silenceWatch(() => client);
  /** Each cluster master's watch, by its slot-map node. */
  const nodeWatches = new WeakMap<object, SilenceWatch>();
  /**
   * Connects whatever is closed; resolves once connected, on giving up, or after `timeoutMs`, when an attempt
   * still under way is abandoned (a handshake on a half-open socket would wait forever).
   */
  const open = (timeoutMs = connectTimeoutMs): Promise<true | string> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        resolve(reason(timeoutMs));
        // A cluster still discovering its nodes is left to finish; once open, its node connections are dropped.
        for (const c of !target.cluster ? [client] : client.isOpen ? connectables() : []) {
          if (!c.isReady) drop(c);
        }
      }, timeoutMs);
      unref(timer); // a caller that waits holds the process with its own timers
      const closed = client.isOpen ? connectables().filter((c) => !c.isOpen) : [client];
      Promise.all(closed.map((c) => c.connect())).then(() => {
        // A connect abandoned (or closed) midway resolves too, unconnected.
        if (!target.cluster && !client.isReady) return resolve(reason());
        watch?.reset();
        resolve(true);
      }, () => resolve(reason()))
        .finally(() => {
          clearTimeout(timer);
          unrefIdle(); // a connect that outlived its timeout created sockets after the caller left
        });
    });
  const refAll = (ref: boolean) => {
    for (const c of connectables()) hold(c, ref);
  };
  const unrefIdle = () => {
    if (inFlight === 0) refAll(false);
  };

  let opening: Promise<unknown> | undefined;
  /** A cluster's node connections being reopened, which no call waits for (see `enter`). */
  let reopening: Promise<unknown> | undefined;
  const enter = (background: boolean, linked = false): Promise<unknown> | undefined => {
    if (!linked) watch?.sent();
    if (!background && inFlight++ === 0) refAll(true);
    if (opening) return opening;
    if (allOpen()) return undefined;
    if (target.cluster && client.isOpen && anyMasterOpen()) {
      // One master's connection is down: it reopens in the background. Commands to its slots fail at once
      // meanwhile (node-redis does not queue on a closed client); the other masters' must not wait for it.
      reopening ??= open().then(() => {
        reopening = undefined;
        unrefIdle();
      });
      return undefined;
    }
    return opening = open().then(() => {
      opening = undefined;
      unrefIdle(); // sockets the cluster created meanwhile
    });
  };
  const leave = (background: boolean, linked = false): void => {
    if (!linked) watch?.settled();
    if (!background && --inFlight === 0) refAll(false);
  };

  inFlight++; // the first connection counts as a call
  watch?.sent();
  const ready = open(firstConnectMs).then((result) => {
    starting = false;
    opening = undefined;
    leave(false);
    return result;
  });
  opening = ready;
  const follow = <T>(slot: number, reply: Promise<T>): Promise<T> => {
    const node = (client as unknown as ClusterNodes).slots[slot]?.master;
    if (!node) return reply;
    let nodeWatch = nodeWatches.get(node);
    if (!nodeWatch) nodeWatches.set(node, nodeWatch = silenceWatch(() => node.client));
    nodeWatch.sent();
    reply.then(nodeWatch.settled, nodeWatch.settled);
    return reply;
  };
  return { client: client as unknown as Client, ready, enter, leave, follow };
}
