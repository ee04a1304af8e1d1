/**
 * A Cloudflare Durable Object as the shared store: {@linkcode CacheObject} keeps the keys in the object's
 * SQLite storage, and {@linkcode durableObjectStore} forwards each store call from a Worker to it as one
 * request. An object runs one request at a time and its storage calls are synchronous, so every call (a batch
 * read, a compare-and-set, a compare-and-delete) is atomic, exactly as a Lua script on Redis: the cache's
 * rule - no read after an acknowledged invalidation returns the older value - holds as it does there. A hit is
 * one subrequest (the entry and its tag versions read together).
 *
 * Everything lives in storage, nothing only in memory: an object that is evicted, moved or restarted comes
 * back with its keys. Expired keys read as missing at once and are deleted a few per write and by an alarm.
 *
 * @example
 * ```ts ignore
 * // worker.ts; wrangler.toml binds CACHE to the class:
 * //   [[durable_objects.bindings]] name = "CACHE", class_name = "CacheObject"
 * //   [[migrations]] tag = "v1", new_sqlite_classes = ["CacheObject"]
 * import { initCache } from "@svc-infra/cache";
 * import { durableObjectStore } from "@svc-infra/cache/adapters/cloudflare";
 * export { CacheObject } from "@svc-infra/cache/adapters/cloudflare";
 *
 * export default {
 *   async fetch(request: Request, env: { CACHE: DurableObjectNamespace }) {
 *     await initCache({ store: durableObjectStore(env.CACHE) }); // once per isolate in a real app
 *     return new Response("ok");
 *   },
 * };
 * ```
 *
 * @module
 */

import type { CacheStore, StoreWrite } from "../src/store/store.ts";
import { checkOptionNames } from "../src/api/option_names.ts";
import { checkCount } from "../src/base/positive.ts";
import { utf8Length } from "../src/keys/template.ts";

/** The part of a Durable Object namespace binding (`env.CACHE`) the store uses. */
export interface DurableObjectNamespaceLike {
  /** The id of the object with this name. */
  idFromName(name: string): unknown;
  /** A stub of the object with this id. */
  get(id: never): DurableObjectStubLike;
}

/** The part of a Durable Object stub the store uses. */
export interface DurableObjectStubLike {
  /** Sends a request to the object. */
  fetch(input: string, init: RequestInit): Promise<Response>;
}

/** Options of {@linkcode durableObjectStore}. */
export interface DurableObjectStoreOptions {
  /** The object's name (its id is derived from it): stores with the same name share their keys. @default {"svc-infra-cache"} */
  name?: string;
  /**
   * Objects the keys are spread over, by a hash of the key. One object serves about 1,000 requests a second
   * (it runs one at a time); with more, each holds part of the keys, and a hit whose entry and tag versions
   * fall on different objects sends one subrequest to each, in parallel (one round trip of latency still).
   * Changing it moves keys to other objects: the cache starts cold. @default {1}
   */
  shards?: number;
  /** Largest value written, in bytes (an object's row holds key and value in 2 MB). @default {1900000} */
  maxValueBytes?: number;
}

/** A stored row, as the object returns it to a store that keeps bodies elsewhere (the KV hybrid). */
export type ObjectRow = readonly [value: string, body: string | null];

/** One write sent to the object: a store write, and the id of a body kept elsewhere (the KV hybrid). */
export interface ObjectWrite extends StoreWrite {
  /** Set when `value` is only the start of the value and the rest is kept elsewhere under this id. */
  readonly body?: string;
}

/** What a Worker asks the object; one request each. */
export type ObjectRequest =
  | { readonly op: "get"; readonly keys: readonly string[] }
  | { readonly op: "rows"; readonly keys: readonly string[] }
  | { readonly op: "heads"; readonly keys: readonly string[]; readonly length: number }
  | { readonly op: "set"; readonly writes: readonly ObjectWrite[] }
  | { readonly op: "delete"; readonly keys: readonly string[] }
  | { readonly op: "deleteIfStartsWith"; readonly key: string; readonly prefix: string }
  /** Deletes each row whose body id is still the given one (a body that never reached KV). */
  | { readonly op: "deleteBodies"; readonly rows: readonly (readonly [key: string, body: string])[] }
  | { readonly op: "scan"; readonly prefix: string };

/** The URL of requests to the object (only its path matters; the host is never resolved). */
const OBJECT_URL = "https://cache.object/v1";

/**
 * Sends one request to an object and returns its JSON answer; a refusal is an `Error` with its text. The store
 * calls' signals are not used: the cache makes one deadline signal for the calls of a short window, possibly
 * while handling another request, and Workers throw when a request touches another's signal ("Cannot perform
 * I/O on behalf of a different request"). The cache's deadline rejects the caller on time without it.
 */
export async function askObject<T>(stub: DurableObjectStubLike, request: ObjectRequest): Promise<T> {
  const response = await stub.fetch(OBJECT_URL, { method: "POST", body: JSON.stringify(request) });
  if (!response.ok) {
    throw new Error(`Durable Object store: the object answered ${response.status}: ${await response.text()}`);
  }
  return await response.json() as T;
}

/**
 * The objects a store spreads its keys over, and which one holds a key. Stubs are made per call: Workers
 * forbid using one made while handling another request (the cache outlives requests), ids may be kept.
 */
export class ObjectShards {
  readonly #namespace: DurableObjectNamespaceLike;
  readonly #ids: unknown[];

  constructor(namespace: DurableObjectNamespaceLike, name: string, shards: number) {
    if (typeof namespace?.idFromName !== "function" || typeof namespace.get !== "function") {
      throw new TypeError(
        "Cannot create Durable Object store: expected a Durable Object namespace binding (env.CACHE), " +
          `current value is ${namespace === null ? "null" : typeof namespace}`,
      );
    }
    if (!Number.isInteger(shards) || shards < 1 || shards > 256) {
      throw new RangeError(
        `Cannot create Durable Object store: shards must be an integer from 1 to 256, current value is ${shards}`,
      );
    }
    this.#namespace = namespace;
    this.#ids = Array.from(
      { length: shards },
      (_, i) => namespace.idFromName(shards === 1 ? name : `${name}/${i}`),
    );
  }

  /** A stub of every object (a scan asks each). */
  all(): DurableObjectStubLike[] {
    return this.#ids.map((id) => this.#namespace.get(id as never));
  }

  /** Which object holds `key`. */
  #indexOf(key: string): number {
    return this.#ids.length === 1 ? 0 : fnv1a(key) % this.#ids.length;
  }

  /** A stub of the object that holds `key`. */
  of(key: string): DurableObjectStubLike {
    return this.#namespace.get(this.#ids[this.#indexOf(key)] as never);
  }

  /**
   * Runs `call` once per object that holds some of `items` (in parallel), with that object's items, and
   * returns the answers in the order of `items`.
   */
  async spread<I, R>(
    items: readonly I[],
    keyOf: (item: I) => string,
    call: (stub: DurableObjectStubLike, items: I[]) => Promise<R[]>,
  ): Promise<R[]> {
    if (this.#ids.length === 1) return await call(this.#namespace.get(this.#ids[0] as never), items as I[]);
    const groups = new Map<number, number[]>();
    items.forEach((item, i) => {
      const shard = this.#indexOf(keyOf(item));
      const group = groups.get(shard);
      if (group) group.push(i);
      else groups.set(shard, [i]);
    });
    const out: R[] = new Array(items.length);
    await Promise.all([...groups].map(async ([shard, group]) => {
      const answers = await call(this.#namespace.get(this.#ids[shard] as never), group.map((i) => items[i]));
      group.forEach((i, j) => out[i] = answers[j]);
    }));
    return out;
  }
}

/** 32-bit FNV-1a of the key's UTF-16 code units: a stable spread over the objects. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * Creates a store on a Durable Object namespace bound to {@linkcode CacheObject} (`env.CACHE`). Every Worker
 * and isolate that uses the same namespace and `name` shares the keys.
 *
 * @example
 * ```ts ignore
 * import { initCache } from "@svc-infra/cache";
 * import { durableObjectStore } from "@svc-infra/cache/adapters/cloudflare";
 * let ready: Promise<void> | undefined;
 * export default {
 *   async fetch(request: Request, env: { CACHE: DurableObjectNamespace }) {
 *     await (ready ??= initCache({ store: durableObjectStore(env.CACHE) }));
 *     return new Response("ok");
 *   },
 * };
 * ```
 *
 * @throws {TypeError} when `namespace` is not a Durable Object namespace binding, or an option is unknown.
 * @throws {RangeError} when `shards` or `maxValueBytes` is out of range.
 */
export function durableObjectStore(
  namespace: DurableObjectNamespaceLike,
  options: DurableObjectStoreOptions = {},
): CacheStore {
  checkOptionNames(options, ["name", "shards", "maxValueBytes"], "Cannot create Durable Object store");
  const shards = new ObjectShards(namespace, options.name ?? "svc-infra-cache", options.shards ?? 1);
  const maxValueBytes = checkCount(
    "Cannot create Durable Object store",
    "maxValueBytes",
    options.maxValueBytes ?? 1_900_000,
  );
  if (maxValueBytes > 1_990_000) {
    throw new RangeError(
      `Cannot create Durable Object store: maxValueBytes must be from 1 to 1990000 (an object's row holds 2 MB), current value is ${maxValueBytes}`,
    );
  }
  const byKey = (key: string) => key;
  return {
    name: "durable-object",
    capabilities: { maxKeyBytes: 1024, maxValueBytes, inProcess: false, consistency: "strong" },
    async getMany(keys) {
      if (keys.length === 0) return [];
      return await shards.spread(keys, byKey, (stub, part) => askObject(stub, { op: "get", keys: part }));
    },
    async getHeads(keys, length) {
      if (keys.length === 0) return [];
      return await shards.spread(
        keys,
        byKey,
        (stub, part) => askObject(stub, { op: "heads", keys: part, length }),
      );
    },
    async setMany(writes) {
      if (writes.length === 0) return [];
      return await shards.spread(writes, (w) => w.key, async (stub, part) => {
        // Oversize values are refused here, as the memory store does: the object would fail the whole batch.
        const fits = part.map((w) => utf8Length(w.value) <= maxValueBytes);
        const sent = part.filter((_, i) => fits[i]);
        const stored = sent.length === 0 ? [] : await askObject<boolean[]>(stub, { op: "set", writes: sent });
        let next = 0;
        return fits.map((fit) => fit && stored[next++]);
      });
    },
    async deleteMany(keys) {
      if (keys.length === 0) return;
      await shards.spread(keys, byKey, async (stub, part) => {
        await askObject(stub, { op: "delete", keys: part });
        return part;
      });
    },
    async deleteIfStartsWith(key, prefix) {
      return await askObject<boolean>(shards.of(key), { op: "deleteIfStartsWith", key, prefix });
    },
    async scan(prefix) {
      const lists = await Promise.all(
        shards.all().map((stub) => askObject<string[]>(stub, { op: "scan", prefix })),
      );
      return lists.flat();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// The object.

/** The part of a Durable Object's state (`ctx`) the object uses: its SQLite storage and alarm. */
export interface DurableObjectStateLike {
  /** The object's storage. */
  readonly storage: {
    readonly sql: {
      exec(query: string, ...bindings: unknown[]): Iterable<Record<string, unknown>> & {
        toArray(): Record<string, unknown>[];
      };
    };
    getAlarm(): Promise<number | null>;
    setAlarm(at: number): Promise<void>;
  };
}

/** Expired rows deleted with each write request, so that a busy object never piles them up. */
const SWEEP_PER_WRITE = 16;
/** How often the alarm deletes every expired row of an object that has rows. */
const SWEEP_INTERVAL_MS = 3_600_000;

/**
 * The Durable Object class that holds the keys: export it from your Worker and bind it in `wrangler.toml`
 * with a SQLite migration (`new_sqlite_classes`). One table of key, value and expiry (and, for the KV hybrid,
 * the id of a body kept in KV); each request is answered by synchronous storage calls, so it is atomic.
 *
 * @example
 * ```ts ignore
 * export { CacheObject } from "@svc-infra/cache/adapters/cloudflare";
 * // wrangler.toml:
 * // [[durable_objects.bindings]]
 * // name = "CACHE"
 * // class_name = "CacheObject"
 * // [[migrations]]
 * // tag = "v1"
 * // new_sqlite_classes = ["CacheObject"]
 * ```
 */
export class CacheObject {
  readonly #ctx: DurableObjectStateLike;
  #alarmChecked = false;

  /** Called by the runtime with the object's state. */
  constructor(ctx: DurableObjectStateLike, _env?: unknown) {
    this.#ctx = ctx;
    const sql = ctx.storage.sql;
    sql.exec(
      "CREATE TABLE IF NOT EXISTS svc_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, body TEXT, expires INTEGER NOT NULL)",
    );
    sql.exec("CREATE INDEX IF NOT EXISTS svc_cache_expires ON svc_cache (expires)");
  }

  /** Answers one store request (see {@linkcode ObjectRequest}). */
  async fetch(request: Request): Promise<Response> {
    let body: ObjectRequest;
    try {
      body = await request.json();
    } catch {
      return new Response("Cannot read the request: expected a JSON store request", { status: 400 });
    }
    try {
      const answer = this.#answer(body);
      if (body.op === "set") await this.#keepAlarm();
      return Response.json(answer);
    } catch (error) {
      return new Response(`Cannot ${body.op}: ${(error as Error).message}`, { status: 500 });
    }
  }

  /** The answer to one request, computed synchronously (so atomically). */
  #answer(request: ObjectRequest): unknown {
    const now = Date.now();
    switch (request.op) {
      case "get":
        return request.keys.map((key) => this.#row(key, now)?.value ?? null);
      case "rows":
        return request.keys.map((key) => {
          const row = this.#row(key, now);
          return row ? [row.value, row.body] : null;
        });
      case "heads":
        return request.keys.map((key) => this.#row(key, now)?.value.slice(0, request.length) ?? null);
      case "set": {
        const stored = request.writes.map((w) => this.#write(w, now));
        this.#ctx.storage.sql.exec(
          "DELETE FROM svc_cache WHERE key IN (SELECT key FROM svc_cache WHERE expires <= ? LIMIT ?)",
          now,
          SWEEP_PER_WRITE,
        );
        return stored;
      }
      case "delete":
        for (const key of request.keys) {
          this.#ctx.storage.sql.exec("DELETE FROM svc_cache WHERE key = ?", key);
        }
        return null;
      case "deleteIfStartsWith": {
        if (this.#row(request.key, now)?.value.startsWith(request.prefix) !== true) return false;
        this.#ctx.storage.sql.exec("DELETE FROM svc_cache WHERE key = ?", request.key);
        return true;
      }
      case "deleteBodies":
        for (const [key, body] of request.rows) {
          this.#ctx.storage.sql.exec("DELETE FROM svc_cache WHERE key = ? AND body = ?", key, body);
        }
        return null;
      case "scan": {
        // Keys that start with the prefix sort right after it (bytewise), together: read from it, stop after.
        const found: string[] = [];
        const rows = this.#ctx.storage.sql.exec(
          "SELECT key, expires FROM svc_cache WHERE key >= ? ORDER BY key",
          request.prefix,
        );
        for (const row of rows) {
          const key = row.key as string;
          if (!key.startsWith(request.prefix)) break;
          if ((row.expires as number) > now) found.push(key);
        }
        return found;
      }
      default:
        throw new TypeError(`unknown operation ${JSON.stringify((request as { op: unknown }).op)}`);
    }
  }

  /** Deletes every expired row; comes back while rows remain. */
  async alarm(): Promise<void> {
    const sql = this.#ctx.storage.sql;
    sql.exec("DELETE FROM svc_cache WHERE expires <= ?", Date.now());
    const [{ left }] = sql.exec("SELECT count(*) AS left FROM svc_cache").toArray();
    if (Number(left) > 0) await this.#ctx.storage.setAlarm(Date.now() + SWEEP_INTERVAL_MS);
  }

  #row(key: string, now: number): { value: string; body: string | null } | undefined {
    const [row] = this.#ctx.storage.sql.exec(
      "SELECT value, body, expires FROM svc_cache WHERE key = ?",
      key,
    ).toArray();
    if (row === undefined || (row.expires as number) <= now) return undefined;
    return { value: row.value as string, body: row.body as string | null };
  }

  #write(w: ObjectWrite, now: number): boolean {
    if (w.ifAbsent && this.#row(w.key, now) !== undefined) return false;
    if (w.ifStartsWith !== undefined && this.#row(w.key, now)?.value.startsWith(w.ifStartsWith) !== true) {
      return false;
    }
    this.#ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO svc_cache (key, value, body, expires) VALUES (?, ?, ?, ?)",
      w.key,
      w.value,
      w.body ?? null,
      now + Math.max(1, Math.ceil(w.ttlMs)),
    );
    return true;
  }

  /** Makes sure an alarm will sweep expired rows (checked once per instance: an alarm outlives eviction). */
  async #keepAlarm(): Promise<void> {
    if (this.#alarmChecked) return;
    this.#alarmChecked = true;
    if (await this.#ctx.storage.getAlarm() === null) {
      await this.#ctx.storage.setAlarm(Date.now() + SWEEP_INTERVAL_MS);
    }
  }
}
