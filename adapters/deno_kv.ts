/**
 * Deno KV: the embedded, persistent store of Deno (`Deno.openKv()`, a file, `":memory:"`, Deno Deploy), and
 * the same database on Node through the `@deno/kv` npm package.
 *
 * Deno KV's `expireIn` is lazy (keys stayed readable a minute past it here), so every value carries its own
 * expiry and reads check it; `expireIn` only reclaims space. Limits are handled, not crashed on: `getMany`
 * reads at most 10 keys per call (split), writes are batched under the atomic mutation limits, values over
 * 64 KiB are refused (the caller still gets its value), and keys over the limit are hashed by the core.
 * Conditional writes (`ifAbsent` for tag versions, loading markers and locks; `ifStartsWith` for entries) and
 * lock release are versionstamp compare-and-sets.
 *
 * @example
 * ```ts ignore
 * import { initCache } from "@svc-infra/cache";
 * import { denoKvStore } from "@svc-infra/cache/adapters/deno-kv";
 * await initCache({ store: denoKvStore(await Deno.openKv()) });
 * await initCache({ url: "denokv:/var/data/cache.db" }); // or "denokv:" for the default database
 * ```
 *
 * @module
 */

import type { CacheStore, StoreWrite } from "../src/store.ts";
import { keepSubscribed, parseKeys } from "./_subscription.ts";
import { checkOptions, optionNames } from "../src/option_names.ts";
export * from "../src/store.ts"; // the store contract (types only): what a custom store implements
export type { Clock } from "../src/clock.ts";

/** A key as the store writes it: `[root, key]`. */
export type KvKey = readonly string[];

/** What the store stores under each key: the text and its expiry (ms since the epoch). */
interface Stored {
  v: string;
  e: number;
}

/** The parts of `Deno.Kv` (or `@deno/kv`'s `Kv`) the store uses. */
export interface DenoKvLike {
  /** Reads up to 10 keys. */
  getMany(keys: readonly KvKey[]): Promise<readonly { value: unknown; versionstamp: string | null }[]>;
  /** Reads one key. */
  get(key: KvKey): Promise<{ value: unknown; versionstamp: string | null }>;
  /** Starts an atomic operation. */
  atomic(): DenoKvAtomic;
  /** Lists keys by prefix. */
  list(selector: { prefix: string[] }): AsyncIterable<{ key: readonly unknown[]; value: unknown }>;
  /** Streams the state of up to 10 keys, again whenever one changes (used with `push` only). */
  watch?(keys: readonly KvKey[]): ReadableStream<readonly { value: unknown; versionstamp: string | null }[]>;
  /** Closes the database. */
  close(): void;
}

/** The parts of an atomic operation the store uses. */
export interface DenoKvAtomic {
  /** Fails the commit unless the key is at this versionstamp (`null`: absent). */
  check(...checks: { key: KvKey; versionstamp: string | null }[]): DenoKvAtomic;
  /** Writes a key. */
  set(key: KvKey, value: unknown, options?: { expireIn?: number }): DenoKvAtomic;
  /** Deletes a key. */
  delete(key: KvKey): DenoKvAtomic;
  /** Applies the operation; `ok: false` when a check failed. */
  commit(): Promise<{ ok: boolean }>;
}

/** Options of {@linkcode denoKvStore}. */
export interface DenoKvStoreOptions {
  /** First key part of every key, so the cache shares a database safely. @default {"svc-cache"} */
  root?: string;
  /** Close the database when the cache closes. @default {false} */
  closeKv?: boolean;
  /**
   * Push for the two-level cache (`l1`): invalidations are written to a few channel keys that every L1 of the
   * namespace watches (`kv.watch`), so they arrive sooner than the staleness bound. Off by default: an open
   * watch keeps a script running until `closeCache()` (neither Deno nor `@deno/kv` can unreference it), and
   * a local database notifies watchers in the same process only (Deno Deploy notifies every isolate).
   * @default {false}
   */
  push?: boolean;
}

/** Every option name of {@linkcode DenoKvStoreOptions}. */
const DENO_KV_OPTION_NAMES = optionNames<DenoKvStoreOptions>({ root: 1, closeKv: 1, push: 1 });

/** Deno KV's per-value limit is 65,536 bytes; the envelope and serialization overhead stay under this margin. */
const MAX_VALUE_BYTES = 65_536 - 512;
/** Per-call and per-commit limits of Deno KV (denokv_proto limits.rs), with headroom. */
const READ_BATCH = 10;
const MUTATIONS_PER_COMMIT = 500;
const BYTES_PER_COMMIT = 600_000;
/**
 * Keys per push channel, each publish writing one at random: a watch reports only the latest state of each
 * key, so publishes close together overwrite one another less often. Ten is the most one watch may hold.
 */
const PUSH_SLOTS = 10;
/** Channel keys expire when nothing is published for this long (they only carry the latest message). */
const PUSH_TTL_MS = 60_000;

/**
 * Creates a store on a Deno KV database (`Deno.openKv(...)`, or `openKv` from `@deno/kv` on Node).
 */
export function denoKvStore(kv: DenoKvLike, options: DenoKvStoreOptions = {}): CacheStore {
  checkOptions(options, DENO_KV_OPTION_NAMES, "Cannot create Deno KV store");
  const root = options.root ?? "svc-cache";
  let closed = false;
  const key = (k: string): KvKey => [root, k];
  const pushKeys = (channel: string): KvKey[] =>
    Array.from({ length: PUSH_SLOTS }, (_, i) => [root, "~push", channel, String(i)]);
  const live = (value: unknown, now: number): string | null => {
    const stored = value as Stored | null;
    return stored && typeof stored.v === "string" && stored.e > now ? stored.v : null;
  };
  const stored = (w: StoreWrite, now: number) => {
    const ttlMs = Math.max(1, Math.ceil(w.ttlMs));
    return { value: { v: w.value, e: now + ttlMs } satisfies Stored, expireIn: ttlMs };
  };

  /**
   * Writes one key only when it is absent or expired (`ifAbsent`) or its live value starts with `ifStartsWith`:
   * a compare-and-set on the versionstamp read, so a concurrent change fails the commit.
   */
  const writeIf = async (w: StoreWrite): Promise<boolean> => {
    const now = Date.now();
    const current = await kv.get(key(w.key));
    const text = live(current.value, now);
    if (w.ifStartsWith !== undefined ? text?.startsWith(w.ifStartsWith) !== true : text !== null) {
      return false;
    }
    const { value, expireIn } = stored(w, now);
    const result = await kv.atomic().check({ key: key(w.key), versionstamp: current.versionstamp })
      .set(key(w.key), value, { expireIn }).commit();
    return result.ok;
  };

  /** Plain writes and deletes, batched into commits under Deno KV's mutation limits. */
  const commitInBatches = async (mutations: ((op: DenoKvAtomic) => DenoKvAtomic)[], sizes: number[]) => {
    let op = kv.atomic(), count = 0, bytes = 0;
    const commits: Promise<{ ok: boolean }>[] = [];
    mutations.forEach((mutate, i) => {
      if (count > 0 && (count >= MUTATIONS_PER_COMMIT || bytes + sizes[i] > BYTES_PER_COMMIT)) {
        commits.push(op.commit());
        op = kv.atomic(), count = 0, bytes = 0;
      }
      op = mutate(op);
      count++, bytes += sizes[i];
    });
    if (count > 0) commits.push(op.commit());
    await Promise.all(commits);
  };

  return {
    name: "deno-kv",
    capabilities: {
      maxKeyBytes: 1024,
      maxValueBytes: MAX_VALUE_BYTES,
      inProcess: false,
      consistency: "strong",
    },
    async getMany(keys) {
      const now = Date.now();
      const batches: Promise<readonly { value: unknown }[]>[] = [];
      for (let i = 0; i < keys.length; i += READ_BATCH) {
        batches.push(kv.getMany(keys.slice(i, i + READ_BATCH).map(key)));
      }
      return (await Promise.all(batches)).flat().map((entry) => live(entry.value, now));
    },
    async setMany(writes) {
      const now = Date.now();
      const results: boolean[] = new Array(writes.length);
      const plain: StoreWrite[] = [];
      const conditional: Promise<void>[] = [];
      writes.forEach((w, i) => {
        if (serializedBytes(w.value) > MAX_VALUE_BYTES) results[i] = false;
        else if (w.ifAbsent || w.ifStartsWith !== undefined) {
          conditional.push(writeIf(w).then((ok) => void (results[i] = ok)));
        } else plain.push(w), results[i] = true;
      });
      await Promise.all([
        ...conditional,
        commitInBatches(
          plain.map((w) => (op) => {
            const { value, expireIn } = stored(w, now);
            return op.set(key(w.key), value, { expireIn });
          }),
          plain.map((w) => (w.key.length + w.value.length) * 3),
        ),
      ]);
      return results;
    },
    async deleteMany(keys) {
      await commitInBatches(keys.map((k) => (op) => op.delete(key(k))), keys.map((k) => k.length * 3));
    },
    async deleteIfStartsWith(k, prefix) {
      const current = await kv.get(key(k));
      if (live(current.value, Date.now())?.startsWith(prefix) !== true) return false;
      return (await kv.atomic().check({ key: key(k), versionstamp: current.versionstamp }).delete(key(k))
        .commit()).ok;
    },
    async scan(prefix) {
      const now = Date.now();
      const found: string[] = [];
      for await (
        const entry of kv.list({ prefix: [root] }) as AsyncIterable<{ key: KvKey; value: unknown }>
      ) {
        const k = entry.key[1];
        if (typeof k === "string" && k.startsWith(prefix) && live(entry.value, now) !== null) found.push(k);
      }
      return found;
    },
    ...(!options.push ? {} : {
      async publish(channel: string, keys: readonly string[]) {
        const slot = pushKeys(channel)[Math.floor(Math.random() * PUSH_SLOTS)];
        await kv.atomic().set(slot, keys, { expireIn: PUSH_TTL_MS }).commit();
      },
      subscribe(channel: string, listener: (keys: string[]) => void, onConnection?: (up: boolean) => void) {
        if (!kv.watch) return Promise.reject(new TypeError("Cannot push: this Deno KV has no watch()"));
        return keepSubscribed(async (dropped) => {
          const reader = kv.watch!(pushKeys(channel)).getReader();
          const close = () => void reader.cancel().catch(() => {});
          const first = await reader.read(); // the state now: only later changes are news
          if (first.done) throw new Error("Cannot push: the watch ended at once");
          const seen = first.value.map((entry) => entry.versionstamp);
          (async () => {
            for (;;) {
              const { value, done } = await reader.read();
              if (done) return;
              value.forEach((entry, i) => {
                if (entry.versionstamp === seen[i]) return;
                seen[i] = entry.versionstamp;
                const keys = parseKeys(entry.value);
                if (keys) listener(keys);
              });
            }
          })().catch(() => {}).finally(dropped);
          return { close };
        }, onConnection);
      },
    }),
    close() {
      if (options.closeKv && !closed) kv.close();
      closed = true;
      return Promise.resolve();
    },
  };
}

/**
 * Bytes V8's serializer (which Deno KV uses) needs for a string: one per character when every character is
 * Latin-1, else two (so one emoji doubles a long ASCII string).
 */
function serializedBytes(text: string): number {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return text.length * 2;
  return text.length;
}

/**
 * Opens a Deno KV database: `Deno.openKv` on Deno, `@deno/kv`'s `openKv` elsewhere (Node, Bun).
 * `path` is passed verbatim (`":memory:"`, a file path); omitted → the default database.
 *
 * @throws {TypeError} on Deno run without `--unstable-kv`.
 */
export async function openDenoKv(path?: string): Promise<DenoKvLike> {
  const deno = (globalThis as {
    Deno?: { openKv?: (path?: string) => Promise<DenoKvLike>; version?: { deno?: string } };
  }).Deno;
  if (typeof deno?.openKv === "function") return await deno.openKv(path);
  if (deno?.version?.deno) {
    // Deno's own KV is behind a flag: the fix is the flag, not Node's client package.
    throw new TypeError(
      `Cannot open Deno KV: Deno ${deno.version.deno} was run without --unstable-kv; run it with ` +
        `--unstable-kv, or add "unstable": ["kv"] to deno.json`,
    );
  }
  const { openKv } = await import("@deno/kv");
  return await openKv(path) as unknown as DenoKvLike;
}
