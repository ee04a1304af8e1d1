/**
 * A store whose entries are sealed (signed or encrypted, see sealer.ts) on their way in and opened on their
 * way out; tag versions, markers and locks pass as they are. What does not open reads as damaged, so the
 * core treats it as it treats any unreadable entry: a miss, deleted, reported once per interval, never served.
 * Shipped only with applications that import `@svc-infra/cache/integrity`.
 *
 * @module
 */

import type { CacheStore, StoreCallOptions, StoreWrite } from "../store/store.ts";
import { memoryStore } from "../store/memory_store.ts";
import { encryptionKeys, type KeyMaterial, keysFromEnv, signingKeys } from "./keys.ts";
import { Sealer } from "./sealer.ts";

/** What an entry that did not open reads as: neither an entry nor a marker (see entry.ts), so damaged. */
const REJECTED = "!rejected";
/** How long an opened entry is remembered: past any entry's lifetime; the store's own expiry decides. */
const REMEMBERED_MS = 30 * 24 * 3600_000;

/**
 * Checks and imports the configured keys (`TypeError` naming a wrong one): those given, else those the
 * environment holds (`CACHE_SIGNING_KEYS`, `CACHE_ENCRYPTION_KEYS`). `what` starts messages.
 */
export async function sealerFor(
  keys: {
    signingKeys?: readonly KeyMaterial[];
    encryptionKeys?: readonly KeyMaterial[];
    signingKeysText?: string;
    encryptionKeysText?: string;
  },
  what: string,
): Promise<Sealer> {
  const given = (list: readonly KeyMaterial[] | undefined, text: string | undefined, name: string) =>
    list ?? (text ? keysFromEnv(text, name, what) : undefined);
  const signing = given(keys.signingKeys, keys.signingKeysText, "CACHE_SIGNING_KEYS");
  const encryption = given(keys.encryptionKeys, keys.encryptionKeysText, "CACHE_ENCRYPTION_KEYS");
  return new Sealer(
    signing === undefined ? [] : await signingKeys(signing, what),
    encryption === undefined ? [] : await encryptionKeys(encryption, what),
  );
}

/**
 * Wraps `inner` so that its entries are sealed with `sealer`; `onRejected` hears each one that did not open.
 * What opened is remembered per key (in a bounded memory store, `remembered` its limits): the same sealed
 * text read again is the same entry, without Web Crypto, whose every call is a trip to another thread (~35 µs
 * on Node and Deno).
 */
export function sealedStore(
  inner: CacheStore,
  sealer: Sealer,
  onRejected: (key: string) => void,
  remembered: { maxEntries?: number; maxBytes?: number } = {},
): CacheStore {
  // Each sealed text held with the entry it opened to (derived from it, so they are forgotten together).
  const opened = memoryStore(remembered);
  let justOpened = "";
  const derive = () => justOpened;
  const remember = (key: string, sealed: string, entry: string) => {
    void opened.setMany([{ key, value: sealed, ttlMs: REMEMBERED_MS }]); // the memory store applies it at once
    justOpened = entry;
    opened.peekDerived!(key, undefined, derive);
  };
  const rejected = (key: string) => {
    onRejected(key);
    return REJECTED;
  };
  // A guard is an entry's head (or a marker, kept as is) whatever is written over it: `set`'s marker replaces
  // a sealed entry too.
  const guarded = (write: StoreWrite): StoreWrite =>
    write.ifStartsWith === undefined
      ? write
      : { ...write, ifStartsWith: sealer.sealedGuard(write.ifStartsWith) };
  const seal = (write: StoreWrite): Promise<StoreWrite> | StoreWrite =>
    sealer.isEntry(write.value)
      ? sealer.seal(write.key, write.value).then((value) => ({ ...guarded(write), value }))
      : guarded(write);
  const { getHeads, publish, subscribe, scan, ready, close } = inner;
  return {
    name: inner.name,
    capabilities: {
      ...inner.capabilities,
      maxValueBytes: sealer.maxEntryBytes(inner.capabilities.maxValueBytes),
    },
    async getMany(keys: readonly string[], options?: StoreCallOptions) {
      const values = await inner.getMany(keys, options);
      let opening: Promise<void>[] | undefined;
      for (let i = 0; i < values.length; i++) {
        const value = values[i], key = keys[i];
        if (value === null) continue;
        if (!sealer.isSealed(value)) {
          if (sealer.isEntry(value)) values[i] = rejected(key);
        } else if (opened.peek!([key])[0] === value) {
          values[i] = opened.peekDerived!(key, undefined, derive);
        } else {
          (opening ??= []).push(
            sealer.open(key, value).then((entry) => {
              if (entry !== undefined) remember(key, value, entry);
              values[i] = entry ?? rejected(key);
            }),
          );
        }
      }
      if (opening) await Promise.all(opening);
      return values;
    },
    async setMany(writes: readonly StoreWrite[], options?: StoreCallOptions) {
      const sealed = await Promise.all(writes.map(seal));
      const stored = await inner.setMany(sealed, options);
      for (let i = 0; i < writes.length; i++) {
        if (stored[i] && sealed[i] !== writes[i]) remember(writes[i].key, sealed[i].value, writes[i].value);
      }
      return stored;
    },
    deleteMany: (keys, options) => inner.deleteMany(keys, options),
    deleteIfStartsWith: (key, prefix, options) =>
      inner.deleteIfStartsWith(key, sealer.sealedGuard(prefix), options),
    // A validation compares only the head through the token; the entry itself was opened when it was kept.
    getHeads: getHeads &&
      (async (keys, length, options) =>
        (await getHeads.call(inner, keys, length + 1, options)).map((head) =>
          head === null ? null : sealer.openedHead(head)
        )),
    publish: publish?.bind(inner),
    subscribe: subscribe?.bind(inner),
    scan: scan?.bind(inner),
    ready: ready?.bind(inner),
    close: close?.bind(inner),
  };
}
