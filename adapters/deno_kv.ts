/**
 * Deno KV: the embedded, persistent store of Deno (`Deno.openKv()`, a file, `":memory:"`, Deno Deploy), and
 * the same database on Node through the `@deno/kv` npm package.
 *
 * One database file may be shared by Deno and Node processes. Values are stored as bytes (their expiry, then
 * the text in UTF-8), which Deno KV keeps as they are: a JS object or string would be kept in V8's
 * serialization format, and Node's V8, which `@deno/kv` reads it with, rejects the newer format Deno writes.
 * A commit that finds the file locked by another process (SQLite's "database is locked") is tried again
 * until the call's deadline.
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

import type { CacheStore, StoreWrite } from "../src/store/store.ts";
import { keepSubscribed, parseKeys } from "./_subscription.ts";
import { checkOptions, optionNames } from "../src/api/option_names.ts";
import { checkMethods } from "../src/base/shape.ts";
export * from "../src/store/store.ts"; // the store contract (types only): what a custom store implements
export type { Clock } from "../src/base/clock.ts";

/** A key as the store writes it: `[root, key]`. */
export type KvKey = readonly string[];

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

/** Bytes before the text in a stored value: its expiry, ms since the epoch, as a float64. */
const EXPIRY_BYTES = 8;
/** Deno KV's per-value limit: 65,536 bytes, which for bytes is their length. */
const MAX_STORED_BYTES = 65_536;
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
/** How long a commit is tried again while the file is locked, when the call has no deadline of its own. */
const BUSY_RETRY_MS = 1000;
/** The longest pause between two tries of a commit that found the file locked. */
const BUSY_PAUSE_MS = 40;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** A stored value: `expiresAt` (ms since the epoch), then `text` in UTF-8. */
function encodeStored(text: string, expiresAt: number): Uint8Array {
  const encoded = utf8.encode(text);
  const bytes = new Uint8Array(EXPIRY_BYTES + encoded.length);
  new DataView(bytes.buffer).setFloat64(0, expiresAt);
  bytes.set(encoded, EXPIRY_BYTES);
  return bytes;
}

/** The text of a stored value, or `null` when it expired by `now` or is not one (absent, or another format). */
function liveText(value: unknown, now: number): string | null {
  if (!(value instanceof Uint8Array) || value.length < EXPIRY_BYTES) return null;
  const expiresAt = new DataView(value.buffer, value.byteOffset, EXPIRY_BYTES).getFloat64(0);
  return expiresAt > now ? fromUtf8.decode(value.subarray(EXPIRY_BYTES)) : null;
}

/**
 * SQLite's busy error, seen on commits with a check when processes share a file: the check reads, and SQLite
 * will not turn that read into a write once another process took the write lock; Deno KV and `@deno/kv`
 * report it instead of trying again. It comes before the commit's first write, so nothing was applied.
 */
function isBusy(error: unknown): boolean {
  return /database is locked/i.test(String((error as Error)?.message ?? error));
}

/**
 * Commits the operation `build` makes, making it again after a short random pause while the file is locked
 * by another process (a locked commit was not applied, so trying again is safe; a compare-and-set checks
 * the same versionstamp again), until `signal` aborts (the call's deadline) or, without one, BUSY_RETRY_MS.
 */
async function commitRetrying(build: () => DenoKvAtomic, signal?: AbortSignal): Promise<{ ok: boolean }> {
  const giveUpAt = performance.now() + BUSY_RETRY_MS;
  for (let pauseMs = 2;; pauseMs = Math.min(pauseMs * 2, BUSY_PAUSE_MS)) {
    try {
      return await build().commit();
    } catch (error) {
      if (!isBusy(error) || (signal ? signal.aborted : performance.now() >= giveUpAt)) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, pauseMs * (0.5 + Math.random())));
  }
}

/**
 * Creates a store on a Deno KV database (`Deno.openKv(...)`, or `openKv` from `@deno/kv` on Node).
 */
export function denoKvStore(kv: DenoKvLike, options: DenoKvStoreOptions = {}): CacheStore {
  checkOptions(options, DENO_KV_OPTION_NAMES, "Cannot create Deno KV store");
  checkMethods("Cannot create Deno KV store", "a Deno.Kv (await Deno.openKv())", kv, [
    "get",
    "getMany",
    "atomic",
    "list",
  ]);
  const root = options.root ?? "svc-cache";
  let closed = false;
  const key = (k: string): KvKey => [root, k];
  const pushKeys = (channel: string): KvKey[] =>
    Array.from({ length: PUSH_SLOTS }, (_, i) => [root, "~push", channel, String(i)]);
  const stored = (w: StoreWrite, now: number) => {
    const ttlMs = Math.max(1, Math.ceil(w.ttlMs));
    return { value: encodeStored(w.value, now + ttlMs), expireIn: ttlMs };
  };

  /**
   * Writes one key only when it is absent or expired (`ifAbsent`) or its live value starts with `ifStartsWith`:
   * a compare-and-set on the versionstamp read, so a concurrent change fails the commit.
   */
  const writeIf = async (
    w: StoreWrite,
    { value, expireIn }: ReturnType<typeof stored>,
    signal?: AbortSignal,
  ): Promise<boolean> => {
    const current = await kv.get(key(w.key));
    const text = liveText(current.value, Date.now());
    if (w.ifStartsWith !== undefined ? text?.startsWith(w.ifStartsWith) !== true : text !== null) {
      return false;
    }
    const check = { key: key(w.key), versionstamp: current.versionstamp };
    return (await commitRetrying(() => kv.atomic().check(check).set(key(w.key), value, { expireIn }), signal))
      .ok;
  };

  /** Plain writes and deletes, batched into commits under Deno KV's mutation limits. */
  const commitInBatches = async (
    mutations: ((op: DenoKvAtomic) => DenoKvAtomic)[],
    sizes: number[],
    signal?: AbortSignal,
  ) => {
    const batches: ((op: DenoKvAtomic) => DenoKvAtomic)[][] = [];
    let batch: typeof mutations = [], bytes = 0;
    mutations.forEach((mutate, i) => {
      if (batch.length > 0 && (batch.length >= MUTATIONS_PER_COMMIT || bytes + sizes[i] > BYTES_PER_COMMIT)) {
        batches.push(batch), batch = [], bytes = 0;
      }
      batch.push(mutate), bytes += sizes[i];
    });
    if (batch.length > 0) batches.push(batch);
    await Promise.all(
      batches.map((b) => commitRetrying(() => b.reduce((op, mutate) => mutate(op), kv.atomic()), signal)),
    );
  };

  return {
    name: "deno-kv",
    capabilities: {
      maxKeyBytes: 1024,
      maxValueBytes: MAX_STORED_BYTES - EXPIRY_BYTES,
      inProcess: false,
      consistency: "strong",
    },
    async getMany(keys) {
      const now = Date.now();
      const batches: Promise<readonly { value: unknown }[]>[] = [];
      for (let i = 0; i < keys.length; i += READ_BATCH) {
        batches.push(kv.getMany(keys.slice(i, i + READ_BATCH).map(key)));
      }
      return (await Promise.all(batches)).flat().map((entry) => liveText(entry.value, now));
    },
    async setMany(writes, options) {
      const now = Date.now();
      const results: boolean[] = new Array(writes.length);
      const plain: { k: string; value: Uint8Array; expireIn: number }[] = [];
      const conditional: Promise<void>[] = [];
      writes.forEach((w, i) => {
        const encoded = stored(w, now);
        if (encoded.value.length > MAX_STORED_BYTES) results[i] = false;
        else if (w.ifAbsent || w.ifStartsWith !== undefined) {
          conditional.push(writeIf(w, encoded, options?.signal).then((ok) => void (results[i] = ok)));
        } else plain.push({ k: w.key, ...encoded }), results[i] = true;
      });
      await Promise.all([
        ...conditional,
        commitInBatches(
          plain.map(({ k, value, expireIn }) => (op) => op.set(key(k), value, { expireIn })),
          plain.map(({ k, value }) => k.length * 3 + value.length),
          options?.signal,
        ),
      ]);
      return results;
    },
    async deleteMany(keys, options) {
      await commitInBatches(
        keys.map((k) => (op) => op.delete(key(k))),
        keys.map((k) => k.length * 3),
        options?.signal,
      );
    },
    async deleteIfStartsWith(k, prefix, options) {
      const current = await kv.get(key(k));
      if (liveText(current.value, Date.now())?.startsWith(prefix) !== true) return false;
      const check = { key: key(k), versionstamp: current.versionstamp };
      return (await commitRetrying(() => kv.atomic().check(check).delete(key(k)), options?.signal)).ok;
    },
    async scan(prefix) {
      const now = Date.now();
      const found: string[] = [];
      for await (
        const entry of kv.list({ prefix: [root] }) as AsyncIterable<{ key: KvKey; value: unknown }>
      ) {
        const k = entry.key[1];
        if (typeof k === "string" && k.startsWith(prefix) && liveText(entry.value, now) !== null) {
          found.push(k);
        }
      }
      return found;
    },
    ...(!options.push ? {} : {
      async publish(channel: string, keys: readonly string[]) {
        const slot = pushKeys(channel)[Math.floor(Math.random() * PUSH_SLOTS)];
        const message = utf8.encode(JSON.stringify(keys)); // bytes, read alike by Deno and Node
        await commitRetrying(() => kv.atomic().set(slot, message, { expireIn: PUSH_TTL_MS }));
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
                const keys = entry.value instanceof Uint8Array && parseKeys(fromUtf8.decode(entry.value));
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
