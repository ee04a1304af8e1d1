/**
 * Upstash REST Redis on the official `@upstash/redis` client: HTTP only, so it runs on every edge runtime.
 * A hit is one request (`MGET` of the entry and its tag versions); concurrent operations coalesce into one
 * `/pipeline` request (the client's auto-pipelining).
 *
 * The client's traps are closed here: automatic deserialization is off (it turned the string "123" into a
 * number), every request has a deadline through the function form of `signal` (a static signal turns an abort
 * into a fake success), and its retries are off (the default sleeps about 4.3 s, and may apply a request twice).
 *
 * @example
 * ```ts ignore
 * import { initCache } from "@svc-infra/cache";
 * await initCache({ url: "https://eu1-x.upstash.io", token: "…" }); // or UPSTASH_REDIS_REST_URL / _TOKEN
 * ```
 *
 * @module
 */

import { Redis } from "@upstash/redis";
import type { CacheStore } from "../src/store/store.ts";
import { type Env, readEnv } from "../src/base/env.ts";
import { checkOptions, optionNames } from "../src/api/option_names.ts";
import { checkCount, checkPositive } from "../src/base/positive.ts";
import { redactUrl, splitUserinfo } from "../src/base/credentials.ts";
import { DELETE_IF_STARTS_WITH, GET_HEADS, REFRESH_ENDS, SET_IF_STARTS_WITH } from "./_scripts.ts";
export * from "../src/store/store.ts"; // the store contract (types only): what a custom store implements
export type { Clock } from "../src/base/clock.ts";
export type { Env } from "../src/base/env.ts";

/** The commands the store uses, as `@upstash/redis`'s `Redis` provides them. */
export interface UpstashClient {
  /** `MGET` */
  mget<T extends unknown[]>(...keys: string[]): Promise<T>;
  /** A pipeline of `SET`s sent as one request. */
  pipeline(): UpstashPipeline;
  /** `DEL` */
  del(...keys: string[]): Promise<number>;
  /** `EVAL` */
  eval(script: string, keys: string[], args: string[]): Promise<unknown>;
  /** `SCAN` */
  scan(
    cursor: string | number,
    options: { match: string; count: number },
  ): Promise<[string | number, string[]]>;
}

/** The part of an Upstash pipeline the store uses. */
export interface UpstashPipeline {
  /** Queues a `SET … PX [NX]`. */
  set(key: string, value: string, options: { px: number; nx: true } | { px: number }): unknown;
  /** Queues an `EVAL` (conditional writes). */
  eval(script: string, keys: string[], args: string[]): unknown;
  /** Sends the queued commands in one request. */
  exec(): Promise<unknown[]>;
}

/** Options of {@linkcode upstashStore} when it creates the client. */
export interface UpstashStoreOptions {
  /** REST URL. @default {UPSTASH_REDIS_REST_URL} */
  url?: string;
  /** REST token. @default {UPSTASH_REDIS_REST_TOKEN} */
  token?: string;
  /** Deadline of one request in milliseconds. @default {1000} */
  timeoutMs?: number;
  /**
   * Retries after a network error. Off by default: a request that reached the server before the error would be
   * applied twice, and a tag version created twice could come back after an invalidation. The cache handles
   * a failed call itself (a miss, a queued invalidation). @default {0}
   */
  retries?: number;
  /** Largest value written, in bytes (Upstash accepts 10 MB per request). @default {8388608} */
  maxValueBytes?: number;
  /** Where the env defaults are read. */
  env?: Env;
}

/** Every option name of {@linkcode UpstashStoreOptions}. */
const UPSTASH_OPTION_NAMES = optionNames<UpstashStoreOptions>({
  url: 1,
  token: 1,
  timeoutMs: 1,
  retries: 1,
  maxValueBytes: 1,
  env: 1,
});

/**
 * Creates an Upstash store from options (it creates the client) or from your own `Redis` client, which should
 * have `automaticDeserialization: false`.
 *
 * @throws {TypeError} when no URL or token is given or found in the environment.
 */
export function upstashStore(clientOrOptions: UpstashClient | UpstashStoreOptions = {}): CacheStore {
  const options: UpstashStoreOptions = isClient(clientOrOptions) ? {} : clientOrOptions;
  checkOptions(options, UPSTASH_OPTION_NAMES, "Cannot create Upstash store");
  const maxValueBytes = checkCount(
    "Cannot create Upstash store",
    "maxValueBytes",
    options.maxValueBytes ?? 8 << 20,
  );
  const client = isClient(clientOrOptions) ? clientOrOptions : createClient(options);
  return withoutCommands({
    name: "upstash",
    capabilities: {
      maxKeyBytes: 1024,
      maxValueBytes,
      inProcess: false,
      consistency: "strong",
    },
    async getMany(keys) {
      if (keys.length === 0) return [];
      return (await client.mget<(string | null)[]>(...keys)).map((v) => v === null ? null : String(v));
    },
    async getHeads(keys, length) {
      if (keys.length === 0) return [];
      // Shares the tick's `/pipeline` request with concurrent calls; only heads travel, not values.
      const heads = await client.eval(GET_HEADS, [...keys], [String(length)]) as unknown[];
      return heads.map((head) => head === null || head === "" ? null : String(head));
    },
    async setMany(writes) {
      if (writes.length === 0) return [];
      const pipeline = client.pipeline();
      for (const w of writes) {
        const px = Math.max(1, Math.ceil(w.ttlMs));
        if (w.ifStartsWith !== undefined) {
          pipeline.eval(SET_IF_STARTS_WITH, [w.key], [w.ifStartsWith, w.value, String(px)]);
        } else if (w.ifAbsent) pipeline.set(w.key, w.value, { px, nx: true });
        else pipeline.set(w.key, w.value, { px });
      }
      const replies = await pipeline.exec();
      return replies.map((reply) => reply !== null && reply !== 0 && reply !== "0");
    },
    async refreshMany(refreshes) {
      if (refreshes.length === 0) return [];
      // Only the ends travel: the value stays on the server.
      const pipeline = client.pipeline();
      for (const r of refreshes) {
        const px = String(Math.max(1, Math.ceil(r.ttlMs)));
        pipeline.eval(REFRESH_ENDS, [r.key], [r.ifStartsWith, r.ifEndsWith, r.head, r.tail, px]);
      }
      const replies = await pipeline.exec();
      return replies.map((reply) => reply === 1 || reply === "1");
    },
    async deleteIfStartsWith(key, prefix) {
      return Number(await client.eval(DELETE_IF_STARTS_WITH, [key], [prefix])) === 1;
    },
    async deleteMany(keys) {
      if (keys.length > 0) await client.del(...keys);
    },
    async scan(prefix) {
      const match = prefix.replace(/[*?[\]\\]/g, "\\$&") + "*";
      const found: string[] = [];
      let cursor: string | number = 0;
      do {
        const [next, keys]: [string | number, string[]] = await client.scan(cursor, { match, count: 1000 });
        found.push(...keys);
        cursor = next;
      } while (String(cursor) !== "0");
      return found;
    },
  });
}

/**
 * The store, its errors cut before `, command was:`: @upstash/redis quotes the whole request there, every key
 * and value of it, and a cache's logs and `error` events must not carry cached data.
 */
function withoutCommands(store: CacheStore): CacheStore {
  const methods = [
    "getMany",
    "getHeads",
    "setMany",
    "refreshMany",
    "deleteIfStartsWith",
    "deleteMany",
    "scan",
  ];
  for (const name of methods) {
    const method = (store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[name];
    (store as unknown as Record<string, unknown>)[name] = (...args: unknown[]) =>
      method(...args).catch((error: unknown) => {
        const at = error instanceof Error ? error.message.indexOf(", command was:") : -1;
        if (at >= 0) (error as Error).message = (error as Error).message.slice(0, at);
        throw error;
      });
  }
  return store;
}

function isClient(value: unknown): value is UpstashClient {
  return typeof (value as UpstashClient)?.mget === "function";
}

function createClient(options: UpstashStoreOptions): Redis {
  const url = options.url ?? readEnv("UPSTASH_REDIS_REST_URL", options.env);
  const token = options.token ?? readEnv("UPSTASH_REDIS_REST_TOKEN", options.env);
  if (!url) {
    throw new TypeError("Cannot create Upstash store: no url given and UPSTASH_REDIS_REST_URL is unset");
  }
  if (!token) {
    throw new TypeError("Cannot create Upstash store: no token given and UPSTASH_REDIS_REST_TOKEN is unset");
  }
  // fetch refuses a URL with credentials, and its error would carry them into the logs: refused here, redacted.
  if (splitUserinfo(url).userinfo !== undefined) {
    throw new TypeError(
      `Cannot create Upstash store: the url "${redactUrl(url)}" holds credentials; pass the token as token`,
    );
  }
  const timeoutMs = checkPositive("Cannot create Upstash store", "timeoutMs", options.timeoutMs ?? 1000);
  if (options.retries !== undefined && !(Number.isSafeInteger(options.retries) && options.retries >= 0)) {
    throw new RangeError(
      `Cannot create Upstash store: retries must be a whole number of 0 or more, current value is ${options.retries}`,
    );
  }
  return new Redis({
    url,
    token,
    automaticDeserialization: false,
    enableTelemetry: false,
    enableAutoPipelining: true,
    signal: () => AbortSignal.timeout(timeoutMs),
    retry: options.retries
      ? { retries: options.retries, backoff: (attempt) => Math.min(50 * 2 ** attempt, 200) }
      : false,
  });
}
