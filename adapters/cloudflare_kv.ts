/**
 * Workers KV for the bulk, a Durable Object for the truth: {@linkcode cloudflareStore} keeps each long value's
 * body in KV (global, cheap reads) and everything the cache's rule rests on in the object (see
 * `durable_object.ts`): tag versions, loading markers, locks, and for each entry its start and the id of its
 * body. A read asks the object and KV at once (one round trip of latency, two subrequests) and accepts a body
 * only when its id is the one the object holds for that key now. KV is eventually consistent (another location
 * may see a write about 60 s late, an old body meanwhile): such a body has another id, and reads as a miss.
 * So KV's delay costs misses, never stale reads; an invalidation (a deletion in the object) is exact at once.
 *
 * KV alone cannot keep the rule: it has no compare-and-set (a load could store its value over an invalidation
 * made during it, and two processes could both take a lock) and a deletion reaches other locations late (a read
 * there would serve the invalidated value for up to a minute). {@linkcode cloudflareStore} therefore refuses to
 * run without the object.
 *
 * @module
 */

import type { CacheStore } from "../src/store/store.ts";
import { checkOptionNames } from "../src/api/option_names.ts";
import { checkCount } from "../src/base/positive.ts";
import { utf8Length } from "../src/keys/template.ts";
import { randomToken } from "../src/entry/token.ts";
import {
  askObject,
  type DurableObjectNamespaceLike,
  type ObjectRow,
  ObjectShards,
  type ObjectWrite,
} from "./durable_object.ts";

/** The part of a Workers KV namespace binding (`env.KV`) the store uses. */
export interface KvNamespaceLike {
  /** One value, or several in one request (a `Map`), as text. */
  get(key: string, type: "text"): Promise<string | null>;
  /** Several values in one request. */
  get(keys: string[], type: "text"): Promise<Map<string, string | null>>;
  /** Writes a value that KV deletes after `expirationTtl` seconds (at least 60). */
  put(key: string, value: string, options: { expirationTtl: number }): Promise<void>;
}

/** Options of {@linkcode cloudflareStore}. */
export interface CloudflareStoreOptions {
  /** The Durable Object namespace bound to `CacheObject` (`env.CACHE`): versions, claims, locks. */
  durableObject: DurableObjectNamespaceLike;
  /** The Workers KV namespace (`env.KV`): entry bodies. */
  kv: KvNamespaceLike;
  /** The object's name, as in `durableObjectStore`. @default {"svc-infra-cache"} */
  name?: string;
  /** Objects the keys are spread over, as in `durableObjectStore`. @default {1} */
  shards?: number;
  /**
   * Which keys' bodies are read from KV together with the object (the rest only when the object says a body
   * is in KV, one round trip later). A guess that only costs time when wrong. @default the cache's entry keys
   */
  bodyKey?: (key: string) => boolean;
  /** Largest value written, in bytes (KV takes 25 MiB). @default {26214000} */
  maxValueBytes?: number;
}

/** Values up to this many characters live whole in the object; longer ones keep this many there as their start. */
const HEAD_CHARS = 128;
/** KV's shortest lifetime, in seconds. */
const KV_MIN_TTL_S = 60;
/**
 * Longest body lifetime asked of KV: workerd refused a put whose expiration fell at 2^32 - 100 s after 1970
 * (and later), and took one 1e9 s from now. The object's row keeps the entry's real expiry; a body gone first
 * only turns a hit into a miss, after 31 years.
 */
const KV_MAX_TTL_S = 1e9;
/** Keys in one KV bulk read. */
const KV_BULK = 100;
/** A body in KV: the id of its write, this separator, then the value. */
const SEPARATOR = "\n";

/**
 * Creates the hybrid store: entry bodies in Workers KV, versions, claims and locks in a Durable Object (the
 * same `CacheObject` class as {@linkcode durableObjectStore}). Values of up to 128 characters (versions, markers,
 * locks) stay whole in the object; a longer value's body goes to KV after the object accepted its start.
 *
 * @example
 * ```ts ignore
 * import { initCache } from "@svc-infra/cache";
 * import { cloudflareStore } from "@svc-infra/cache/adapters/cloudflare";
 * export { CacheObject } from "@svc-infra/cache/adapters/cloudflare";
 * let ready: Promise<void> | undefined;
 * export default {
 *   async fetch(request: Request, env: { CACHE: DurableObjectNamespace; KV: KVNamespace }) {
 *     await (ready ??= initCache({ store: cloudflareStore({ durableObject: env.CACHE, kv: env.KV }) }));
 *     return new Response("ok");
 *   },
 * };
 * ```
 *
 * @throws {TypeError} when the Durable Object namespace is missing (KV alone cannot keep the cache's rule), when
 * `kv` is not a KV namespace binding, or an option is unknown.
 */
export function cloudflareStore(options: CloudflareStoreOptions): CacheStore {
  checkOptionNames(
    options ?? {},
    ["durableObject", "kv", "name", "shards", "bodyKey", "maxValueBytes"],
    "Cannot create Cloudflare store",
  );
  if (options?.durableObject === undefined) {
    throw new TypeError(
      "Cannot create Cloudflare store: durableObject is missing. Workers KV alone has no compare-and-set and " +
        "shows writes and deletions to other locations up to a minute late, so an invalidated value could be " +
        "served again: bind CacheObject and pass it as durableObject (KV then holds only entry bodies)",
    );
  }
  const { kv } = options;
  if (typeof kv?.get !== "function" || typeof kv.put !== "function") {
    throw new TypeError(
      `Cannot create Cloudflare store: kv must be a Workers KV namespace binding (env.KV), current value is ${
        kv === null ? "null" : typeof kv
      }`,
    );
  }
  const shards = new ObjectShards(
    options.durableObject,
    options.name ?? "svc-infra-cache",
    options.shards ?? 1,
  );
  const bodyKey = options.bodyKey ?? isEntryKey;
  const maxValueBytes = checkCount(
    "Cannot create Cloudflare store",
    "maxValueBytes",
    options.maxValueBytes ?? 26_214_000,
  );

  /** The rows of `keys` in the objects. */
  const rows = (keys: readonly string[]) =>
    shards.spread(
      keys,
      (key) => key,
      (stub, part) => askObject<(ObjectRow | null)[]>(stub, { op: "rows", keys: part }),
    );

  /** KV's bodies of `keys` (one bulk request per hundred keys). */
  const bodies = async (keys: readonly string[]): Promise<Map<string, string | null>> => {
    if (keys.length === 1) return new Map([[keys[0], await kv.get(keys[0], "text")]]);
    const found = new Map<string, string | null>();
    for (let i = 0; i < keys.length; i += KV_BULK) {
      for (const [key, value] of await kv.get(keys.slice(i, i + KV_BULK), "text")) found.set(key, value);
    }
    return found;
  };

  const store: CacheStore = {
    name: "cloudflare",
    capabilities: { maxKeyBytes: 512, maxValueBytes, inProcess: false, consistency: "strong" },
    async getMany(keys) {
      if (keys.length === 0) return [];
      const guessed = [...new Set(keys.filter(bodyKey))];
      // The object and KV at once: one round trip of latency for every guessed key.
      const [found, early] = await Promise.all([
        rows(keys),
        guessed.length > 0 ? bodies(guessed) : new Map<string, string | null>(),
      ]);
      const late = [...new Set(keys.filter((key, i) => found[i]?.[1] != null && !early.has(key)))];
      const more = late.length > 0 ? await bodies(late) : undefined;
      return keys.map((key, i) => {
        const row = found[i];
        if (row === null) return null;
        const [value, id] = row;
        if (id === null) return value;
        const body = early.get(key) ?? more?.get(key) ?? null;
        // Only the body of the write the object holds now: an older one (KV's delay) is a miss, never served.
        return body !== null && body.startsWith(id + SEPARATOR) ? body.slice(id.length + 1) : null;
      });
    },
    async getHeads(keys, length) {
      if (keys.length === 0) return [];
      if (length > HEAD_CHARS) return (await store.getMany(keys)).map((v) => v?.slice(0, length) ?? null);
      return await shards.spread(
        keys,
        (key) => key,
        (stub, part) => askObject(stub, { op: "heads", keys: part, length }),
      );
    },
    async setMany(writes) {
      if (writes.length === 0) return [];
      const sent: ObjectWrite[] = [];
      const index: number[] = [];
      const stored = writes.map((w, i) => {
        if (w.ifStartsWith !== undefined && w.ifStartsWith.length > HEAD_CHARS) {
          throw new RangeError(
            `Cannot write ${w.key}: ifStartsWith may be ${HEAD_CHARS} characters at most (the start the object keeps), current length is ${w.ifStartsWith.length}`,
          );
        }
        if (utf8Length(w.value) > maxValueBytes) return false;
        index.push(i);
        sent.push(w.value.length <= HEAD_CHARS ? w : { ...w, value: headOf(w.value), body: randomToken() });
        return false;
      });
      // The object decides first (its compare-and-sets are the atomic part); accepted bodies then go to KV.
      const accepted = await shards.spread(
        sent,
        (w) => w.key,
        (stub, part) => askObject<boolean[]>(stub, { op: "set", writes: part }),
      );
      const failed: ObjectWrite[] = [];
      await Promise.all(sent.map(async (w, j) => {
        if (!accepted[j]) return;
        stored[index[j]] = true;
        if (w.body === undefined) return;
        try {
          const ttl = Math.min(KV_MAX_TTL_S, Math.max(KV_MIN_TTL_S, Math.ceil(w.ttlMs / 1000)));
          await kv.put(w.key, w.body + SEPARATOR + writes[index[j]].value, { expirationTtl: ttl });
        } catch {
          stored[index[j]] = false;
          failed.push(w);
        }
      }));
      // A row whose body did not reach KV would be a miss until it expires, and keep loads from storing: it goes.
      if (failed.length > 0) {
        await shards.spread(failed, (w) => w.key, async (stub, part) => {
          await askObject(stub, { op: "deleteBodies", rows: part.map((w) => [w.key, w.body!]) });
          return part;
        });
      }
      return stored;
    },
    async deleteMany(keys) {
      if (keys.length === 0) return;
      // The rows are the truth: a body left in KV has no row to match and expires by itself.
      await shards.spread(keys, (key) => key, async (stub, part) => {
        await askObject(stub, { op: "delete", keys: part });
        return part;
      });
    },
    async deleteIfStartsWith(key, prefix) {
      if (prefix.length > HEAD_CHARS) {
        throw new RangeError(
          `Cannot delete ${key}: the prefix may be ${HEAD_CHARS} characters at most (the start the object keeps), current length is ${prefix.length}`,
        );
      }
      return await askObject<boolean>(shards.of(key), { op: "deleteIfStartsWith", key, prefix });
    },
    async scan(prefix) {
      const lists = await Promise.all(
        shards.all().map((stub) => askObject<string[]>(stub, { op: "scan", prefix })),
      );
      return lists.flat();
    },
  };
  return store;
}

/** The start of a long value the object keeps: 128 characters, one less rather than half a surrogate pair. */
function headOf(value: string): string {
  const code = value.charCodeAt(HEAD_CHARS - 1);
  return value.slice(0, code >= 0xd800 && code <= 0xdbff ? HEAD_CHARS - 1 : HEAD_CHARS);
}

/** The cache's entry keys (`prefix:version:e:…`): the ones whose bodies are worth reading with the object. */
function isEntryKey(key: string): boolean {
  return key.includes(":e:");
}
