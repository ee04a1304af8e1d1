/**
 * Redis over TCP, single node or Redis Cluster, on the official `@redis/client` (node-redis 5): it batches
 * commands issued in the same tick, which measured fastest under concurrency (see docs/benchmarks.md). Runs on Node,
 * Deno and Bun.
 *
 * A hit is one `MGET` of the entry and its tag versions on a single node; on a Cluster the keys are grouped by
 * hash slot and one `MGET` per slot is sent in parallel (the namespace is never pinned to one slot).
 *
 * @example
 * ```ts ignore
 * import { initCache } from "@svc-infra/cache";
 * await initCache({ url: "redis://user:pass@localhost:6379/0" });
 * await initCache({ url: "redis://localhost:7000,localhost:7001,localhost:7002" }); // Cluster
 * ```
 *
 * @module
 */

import calculateSlot from "cluster-key-slot";
import type { CacheStore, StoreWrite } from "../src/store/store.ts";
import { DELETE_IF_STARTS_WITH, GET_HEADS, REFRESH_ENDS, SET_IF_STARTS_WITH } from "./_scripts.ts";
import { openRedis, type RedisTarget } from "./_redis_connection.ts";
import { keepSubscribed, parseKeys } from "./_subscription.ts";
import { redactUrl, splitUserinfo } from "../src/base/credentials.ts";
import { checkOptions, optionNames } from "../src/api/option_names.ts";
import { within } from "../src/base/timers.ts";
import { checkCount, checkPositive } from "../src/base/positive.ts";
import { checkMethods } from "../src/base/shape.ts";
import { type ClusterInternals, watchTopology } from "./_cluster_topology.ts";
import { type DurableCommand, durableWrites } from "./_durable.ts";
export * from "../src/store/store.ts"; // the store contract (types only): what a custom store implements
export type { Clock } from "../src/base/clock.ts";
export type { RedisTarget } from "./_redis_connection.ts";

/** The commands the store uses, as both a node-redis client and a cluster provide them. */
export interface RedisCommands {
  /** `MGET` */
  mGet(keys: string[]): Promise<(string | null)[]>;
  /** `SET` with options */
  set(
    key: string,
    value: string,
    options: { expiration: { type: "PX"; value: number }; condition?: "NX" },
  ): Promise<string | null>;
  /** `DEL` */
  del(keys: string[]): Promise<number>;
  /** `EVAL` (conditional writes and deletes: a compare-and-set must be atomic). */
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  /** `PUBLISH` */
  publish?(channel: string, message: string): Promise<number>;
  /** A new client with the same options (a connection for subscribing). */
  duplicate?(): RedisSubscriber;
  /** Closes the connection(s), after pending replies. */
  close(): Promise<void>;
  /** Drops the connection(s) at once. */
  destroy?(): void;
}

/** The client a store subscribes with (`duplicate()` of a node-redis client). */
export interface RedisSubscriber {
  /** Connects. */
  connect(): Promise<unknown>;
  /** `SUBSCRIBE` */
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  /** Lets the process exit while connected. */
  unref?(): void;
  /** `false` once closed, or once it stopped reconnecting. */
  readonly isOpen: boolean;
  /** Connection errors (a closed connection is reopened: push is best effort). */
  on(event: "error", listener: (error: Error) => void): unknown;
  /** Drops the connection. */
  destroy(): void;
}

/** Options of {@linkcode redisStore}. */
export interface RedisStoreOptions {
  /** Largest value written, in bytes. @default {16777216} (16 MiB) */
  maxValueBytes?: number;
  /**
   * Milliseconds the connection may stay silent: to connect (TCP, TLS and the handshake), or to give a reply
   * while a command waits for one. Past it the connection is dropped and the next call opens a new one, so a
   * half-open socket is abandoned; it also bounds `close()`. The first connection gets at least 1000 ms.
   * `initCache({ url })` uses its `deadlineMs`. @default {1000}
   */
  connectTimeoutMs?: number;
  /** Close the client when the cache closes; `true` for clients the store created. */
  closeClient?: boolean;
}

/** Every option name of {@linkcode RedisStoreOptions}. */
const REDIS_OPTION_NAMES = optionNames<RedisStoreOptions>({
  maxValueBytes: 1,
  connectTimeoutMs: 1,
  closeClient: 1,
});

/**
 * Parses `redis://host:port`, `redis://user:pass@host:port/db`, `rediss://…`, and the Cluster form
 * `redis://a:7000,b:7001,c:7002`. Throws `TypeError` naming the malformed part.
 */
export function parseRedisUrl(url: string): RedisTarget {
  // The credentials are split off the raw text first: whatever is malformed, no message can show them.
  const { head, userinfo, rest } = splitUserinfo(url);
  const match = /^(rediss?):\/\/$/i.exec(head) && /^([^/?#]*)(?:\/([^?#]*))?$/.exec(rest);
  if (!match) {
    throw new TypeError(
      `Cannot parse redis url "${redactUrl(url)}": expected redis://[user:password@]host[:port][/db]`,
    );
  }
  const [, hostList, path] = match;
  let username: string | undefined, password: string | undefined;
  if (userinfo) {
    const colon = userinfo.indexOf(":");
    try {
      username = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon)) || undefined;
      password = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1));
    } catch {
      throw new TypeError(`Cannot parse redis url: the user or password is not valid percent-encoding`);
    }
    if (colon < 0) [username, password] = [undefined, username];
  }
  const parts = hostList.split(",");
  const nodes = parts.map((part) => {
    const m = /^(\[[^\]]+\]|[^:\[\]]+)(?::([^:]*))?$/.exec(part.trim());
    if (!m) throw new TypeError(`Cannot parse redis url: bad host "${part}"`);
    const port = m[2] === undefined ? 6379 : Number(m[2]);
    if (!/^\d*$/.test(m[2] ?? "") || !Number.isInteger(port) || port < 1 || port > 65535 || m[2] === "") {
      throw new TypeError(`Cannot parse redis url: bad port "${m[2]}" in "${part}"`);
    }
    return { host: m[1].replace(/^\[|\]$/g, ""), port };
  });
  const cluster = nodes.length > 1;
  let database: number | undefined;
  if (path) {
    if (cluster) throw new TypeError(`Cannot parse redis url: a cluster has no database, remove "/${path}"`);
    database = Number(path);
    if (!Number.isInteger(database) || database < 0) {
      throw new TypeError(`Cannot parse redis url: bad database "${path}"`);
    }
  }
  return { tls: head.toLowerCase() === "rediss://", username, password, database, nodes, cluster };
}

/**
 * Creates a Redis store from a URL (it owns the connection) or from an existing node-redis client or
 * cluster (pooled and configured by you).
 *
 * @throws {TypeError} a malformed URL, naming the part; neither a URL nor a client; an unknown option, naming
 * the closest known one.
 * @throws {RangeError} a `connectTimeoutMs` that is not a positive number.
 */
export function redisStore(clientOrUrl: string | RedisCommands, options: RedisStoreOptions = {}): CacheStore {
  checkOptions(options, REDIS_OPTION_NAMES, "Cannot create Redis store");
  const connectTimeoutMs = checkPositive(
    "Cannot create Redis store",
    "connectTimeoutMs",
    options.connectTimeoutMs ?? 1000,
  );
  const maxValueBytes = checkCount(
    "Cannot create Redis store",
    "maxValueBytes",
    options.maxValueBytes ?? 16 << 20,
  );
  const connection = typeof clientOrUrl === "string"
    ? openRedis<RedisCommands>(parseRedisUrl(clientOrUrl), connectTimeoutMs)
    : undefined;
  if (!connection) {
    const expected = "a redis:// URL or a node-redis client (createClient() or createCluster())";
    checkMethods("Cannot create Redis store", expected, clientOrUrl, ["mGet", "set", "del", "eval"]);
  }
  const client = connection?.client ?? clientOrUrl as RedisCommands;
  const cluster = isCluster(client);
  const closeClient = options.closeClient ?? connection !== undefined;
  const topology = cluster ? watchTopology(client as unknown as ClusterInternals) : undefined;
  const durable = durableWrites(client, cluster, connectTimeoutMs);
  /**
   * Runs a command inside the owned connection's bracket (a client you pass is yours to manage); on a Cluster,
   * a failure without a reply (or the call's `signal` aborting first) makes the client check its slot map.
   * `linked`: it runs on a durable-write link, whose replies (or silence) say nothing of this connection.
   */
  const call = <T>(command: () => Promise<T>, background = false, signal?: AbortSignal, linked = false) => {
    const reply = bracket(command, background, linked);
    return topology ? topology.watch(reply, signal) : reply;
  };
  const bracket = <T>(command: () => Promise<T>, background: boolean, linked: boolean): Promise<T> => {
    if (!connection) return command();
    const leave = () => connection.leave(background, linked);
    const opening = connection.enter(background, linked);
    if (opening) return opening.then(command).finally(leave);
    let reply: Promise<T>;
    try {
      reply = command();
    } catch (error) {
      leave();
      return Promise.reject(error);
    }
    return reply.finally(leave);
  };

  /**
   * Follows one command to its master on a Cluster whose connection the store owns, so that a master that
   * stopped answering (a half-open connection) is dropped by itself; the reply as it is otherwise.
   */
  const onNode: <T>(key: string, reply: Promise<T>) => Promise<T> = cluster && connection
    ? (key, reply) => connection.follow(calculateSlot(key), reply)
    : (_key, reply) => reply;

  /** Splits keys by hash slot on a Cluster (one group otherwise). */
  const bySlot = (keys: readonly string[]): number[][] => {
    if (!cluster) return [keys.map((_, i) => i)];
    const groups = new Map<number, number[]>();
    keys.forEach((key, i) => {
      const slot = calculateSlot(key);
      const group = groups.get(slot);
      if (group) group.push(i);
      else groups.set(slot, [i]);
    });
    return [...groups.values()];
  };
  /**
   * A new connection to subscribe on: a copy of the client, or on a Cluster of one master's client (Redis
   * forwards every message to all nodes), the next master on each reopening.
   */
  let subscriberNode = 0;
  const openSubscriber = async (): Promise<RedisSubscriber> => {
    if (!cluster) return client.duplicate!();
    await connection?.ready; // the masters are known once the cluster has connected
    const { masters } = client as unknown as ClusterLike;
    if (masters.length === 0) throw new Error("Cannot subscribe: no cluster node is known yet");
    const node = await (client as unknown as ClusterLike).nodeClient(
      masters[subscriberNode++ % masters.length],
    );
    return node.duplicate();
  };
  const getGrouped = async (keys: readonly string[], signal?: AbortSignal): Promise<(string | null)[]> => {
    if (keys.length === 0) return [];
    const groups = bySlot(keys);
    if (groups.length === 1) {
      return await call(() => onNode(keys[0], client.mGet(keys as string[])), false, signal);
    }
    const out: (string | null)[] = new Array(keys.length);
    await Promise.all(groups.map(async (group) => {
      const values = await call(
        () => onNode(keys[group[0]], client.mGet(group.map((i) => keys[i]))),
        false,
        signal,
      );
      group.forEach((i, j) => out[i] = values[j]);
    }));
    return out;
  };
  return {
    name: cluster ? "redis-cluster" : "redis",
    capabilities: {
      maxKeyBytes: 1024,
      maxValueBytes,
      inProcess: false,
      consistency: "strong",
    },
    ready: () => connection?.ready ?? Promise.resolve(true as const),
    getMany(keys, options) {
      // The hot path: no async wrapper, so a hit costs the client's promise (and the bracket's) only.
      if (cluster) return getGrouped(keys, options?.signal);
      return keys.length === 0 ? Promise.resolve([]) : call(() => client.mGet(keys as string[]));
    },
    async getHeads(keys, length, options) {
      // One script per hash slot (all of them in parallel): only the heads travel, not the values.
      const out: (string | null)[] = new Array(keys.length);
      await Promise.all(
        bySlot(keys).map(async (group) => {
          const script = { keys: group.map((i) => keys[i]), arguments: [String(length)] };
          const heads = await call(
            () => onNode(script.keys[0], client.eval(GET_HEADS, script)),
            false,
            options?.signal,
          ) as string[];
          group.forEach((i, j) => out[i] = heads[j] || null);
        }),
      );
      return out;
    },
    ...(!client.publish || !(cluster || client.duplicate) ? {} : {
      async publish(channel: string, keys: readonly string[]) {
        await call(() => client.publish!(channel, JSON.stringify(keys)), true);
      },
      subscribe(channel: string, listener: (keys: string[]) => void, onConnection?: (up: boolean) => void) {
        const onMessage = (message: string) => {
          const keys = parseKeys(message);
          if (keys) listener(keys);
        };
        return keepSubscribed(async (dropped) => {
          const subscriber = await openSubscriber();
          const close = () => {
            try {
              subscriber.destroy();
            } catch { /* already closed: it had stopped reconnecting */ }
          };
          // node-redis reconnects by itself while the store has calls in flight; once it gives up (closed on an
          // error), the subscription is reopened.
          subscriber.on("error", () => subscriber.isOpen || dropped());
          subscriber.unref?.();
          try {
            // Bounded: a handshake on a half-open or crawling socket would hold the subscription (and a close
            // waiting for its first attempt) forever.
            await within(
              subscriber.connect().then(() => subscriber.subscribe(channel, onMessage)),
              connectTimeoutMs,
              "Cannot subscribe",
            );
          } catch (error) {
            close();
            throw error;
          }
          return { close };
        }, onConnection);
      },
    }),
    async setMany(writes: readonly StoreWrite[], options) {
      if (options?.durable && durable) {
        const replies = await call(() => durable.run(writes.map(writeCommand)), false, options.signal, true);
        return replies.map((reply) => reply === "OK" || reply === 1);
      }
      // Commands issued in one tick travel together: one round trip of latency.
      const replies = await call(() =>
        Promise.all(writes.map((w) => {
          const px = pxOf(w);
          if (w.ifStartsWith !== undefined) {
            return onNode(
              w.key,
              client.eval(SET_IF_STARTS_WITH, {
                keys: [w.key],
                arguments: [w.ifStartsWith, w.value, String(px)],
              }),
            ).then((n) => n === 1 ? "OK" : null);
          }
          return onNode(
            w.key,
            client.set(w.key, w.value, {
              expiration: { type: "PX", value: px },
              ...(w.ifAbsent ? { condition: "NX" as const } : {}),
            }),
          );
        }))
      );
      return replies.map((reply) => reply !== null);
    },
    async refreshMany(refreshes, options) {
      // Only the ends travel: the value stays on the server (one script per entry, in one round trip).
      const replies = await call(
        () =>
          Promise.all(refreshes.map((r) =>
            onNode(
              r.key,
              client.eval(REFRESH_ENDS, {
                keys: [r.key],
                arguments: [r.ifStartsWith, r.ifEndsWith, r.head, r.tail, String(pxOf(r))],
              }),
            )
          )),
        false,
        options?.signal,
      );
      return replies.map((reply) => reply === 1);
    },
    async deleteIfStartsWith(key, prefix, options) {
      const script = { keys: [key], arguments: [prefix] };
      return await call(
        () => onNode(key, client.eval(DELETE_IF_STARTS_WITH, script)),
        options?.background,
      ) === 1;
    },
    async deleteMany(keys, options) {
      if (keys.length === 0) return;
      if (options?.durable && durable) {
        // On a Cluster one DEL per key, still one round trip: during a slot migration a DEL of several keys,
        // some moved and some not, is refused (TRYAGAIN), where each alone is done or redirected (ASK).
        const commands = cluster
          ? keys.map((key) => ({ key, args: ["DEL", key] }))
          : [{ key: keys[0], args: ["DEL", ...keys] }];
        await call(() => durable.run(commands), options.background, options.signal, true);
        return;
      }
      const groups = bySlot(keys);
      await call(
        () =>
          Promise.all(groups.map((group) => onNode(keys[group[0]], client.del(group.map((i) => keys[i]))))),
        options?.background,
        options?.signal,
      );
    },
    scan(prefix) {
      return call(() => scanAll(prefix));
    },
    async close() {
      durable?.close();
      const rediscovering = topology?.stop();
      if (!closeClient) return;
      // The nodes a rediscovery in flight connects once it ends are dropped then.
      rediscovering?.then(() => dropNodes(client as unknown as ClusterInternals), () => {});
      // A graceful close waits for pending replies, which a paused or dead server may never send: bounded.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const closed = await Promise.race([
        client.close().then(() => true, () => true),
        new Promise<false>((resolve) => timer = setTimeout(resolve, connectTimeoutMs, false)),
      ]);
      clearTimeout(timer);
      if (!closed) client.destroy?.();
      // A master's connection being reopened in the background (its socket still connecting) is dropped too.
      if (cluster) dropNodes(client as unknown as ClusterInternals);
    },
  };

  async function scanAll(prefix: string): Promise<string[]> {
    const match = prefix.replace(/[*?[\]\\]/g, "\\$&") + "*";
    const nodes = cluster
      ? await Promise.all(
        (client as unknown as ClusterLike).masters.map((m) =>
          (client as unknown as ClusterLike).nodeClient(m)
        ),
      )
      : [client as unknown as ScanLike];
    const found: string[] = [];
    for (const node of nodes) {
      for await (const batch of node.scanIterator({ MATCH: match, COUNT: 1000 })) found.push(...batch);
    }
    return found;
  }
}

/** A write's ttl in whole milliseconds, at least 1 (`PX`). */
function pxOf(w: Pick<StoreWrite, "ttlMs">): number {
  return Math.max(1, Math.ceil(w.ttlMs));
}

/** A write as a raw command, for the durable path. */
function writeCommand(w: StoreWrite): DurableCommand {
  const px = String(pxOf(w));
  if (w.ifStartsWith !== undefined) {
    return { key: w.key, args: ["EVAL", SET_IF_STARTS_WITH, "1", w.key, w.ifStartsWith, w.value, px] };
  }
  return { key: w.key, args: ["SET", w.key, w.value, "PX", px, ...(w.ifAbsent ? ["NX"] : [])] };
}

interface ScanLike {
  scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string[]>;
}

interface ClusterLike {
  masters: unknown[];
  nodeClient(node: unknown): Promise<ScanLike & { duplicate(): RedisSubscriber }>;
}

/** Destroys each node client of a cluster (one already closed throws, and the others must still go). */
function dropNodes(cluster: ClusterInternals): void {
  for (const node of [...cluster.masters, ...(cluster.replicas ?? [])]) {
    try {
      (node.client as { destroy?(): void } | undefined)?.destroy?.();
    } catch { /* closed already */ }
  }
}

function isCluster(client: RedisCommands): boolean {
  return "masters" in client && "nodeClient" in client;
}
