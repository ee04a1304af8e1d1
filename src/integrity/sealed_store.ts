/**
 * A store whose entries are sealed (signed or encrypted, see sealer.ts) on their way in and opened on their
 * way out; tag versions, markers and locks pass as they are. What does not open reads as damaged, so the
 * core treats it as it treats any unreadable entry: a miss, deleted, reported once per interval, never served.
 * Loaded only when `signingKeys` or `encryptionKeys` is configured.
 *
 * @module
 */

import type { CacheStore, StoreCallOptions, StoreWrite } from "../store.ts";
import { encryptionKeys, type KeyMaterial, signingKeys } from "./keys.ts";
import { Sealer } from "./sealer.ts";

/** What an entry that did not open reads as: neither an entry nor a marker (see entry.ts), so damaged. */
const REJECTED = "!rejected";

/** Checks and imports the configured keys (`TypeError` naming a wrong one); `what` starts messages. */
export async function sealerFor(
  keys: { signingKeys?: readonly KeyMaterial[]; encryptionKeys?: readonly KeyMaterial[] },
  what: string,
): Promise<Sealer> {
  const signing = keys.signingKeys === undefined ? [] : await signingKeys(keys.signingKeys, what);
  const encryption = keys.encryptionKeys === undefined ? [] : await encryptionKeys(keys.encryptionKeys, what);
  return new Sealer(signing, encryption);
}

/** Wraps `inner` so that its entries are sealed with `sealer`; `onRejected` hears each one that did not open. */
export function sealedStore(
  inner: CacheStore,
  sealer: Sealer,
  onRejected: (key: string) => void,
): CacheStore {
  const open = async (key: string, value: string | null) => {
    if (value === null) return null;
    const opened = await sealer.open(key, value);
    if (opened !== undefined) return opened;
    onRejected(key);
    return REJECTED;
  };
  const seal = (write: StoreWrite): Promise<StoreWrite> | StoreWrite =>
    sealer.isEntry(write.value)
      ? sealer.seal(write.key, write.value).then((value) => ({
        ...write,
        value,
        ifStartsWith: write.ifStartsWith === undefined ? undefined : sealer.sealedGuard(write.ifStartsWith),
      }))
      : write;
  const { getHeads, publish, subscribe, scan, ready, close } = inner;
  return {
    name: inner.name,
    capabilities: {
      ...inner.capabilities,
      maxValueBytes: sealer.maxEntryBytes(inner.capabilities.maxValueBytes),
    },
    async getMany(keys: readonly string[], options?: StoreCallOptions) {
      const values = await inner.getMany(keys, options);
      return await Promise.all(values.map((value, i) => open(keys[i], value)));
    },
    async setMany(writes: readonly StoreWrite[], options?: StoreCallOptions) {
      return await inner.setMany(await Promise.all(writes.map(seal)), options);
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
