/**
 * Signed and encrypted entries, so that whoever can write the shared store cannot plant, move or read an entry
 * this cache will serve. Its code ships only with applications that import this entry point.
 *
 * @example
 * ```ts
 * import { createCache } from "@svc-infra/cache";
 * import { sealed } from "@svc-infra/cache/integrity";
 *
 * const signingKeys = [crypto.getRandomValues(new Uint8Array(32))];
 * const cache = await createCache({ integrity: sealed({ signingKeys }) });
 * await cache.close();
 * ```
 *
 * @module
 */

import type { CacheFeature, IntegrityPlugin } from "../api/features.ts";
import { readEnv } from "../base/env.ts";
import { checkOptions, optionNames } from "../api/option_names.ts";
import type { KeyMaterial } from "./keys.ts";
import { sealedStore, sealerFor } from "./sealed_store.ts";

export type { KeyMaterial, WebCryptoKey } from "./keys.ts";
export type { CacheFeature, FeatureName } from "../api/features.ts";

/** The keys of `sealed()`; each kind omitted is read from the cache's environment. */
export interface SealedOptions {
  /**
   * Signed entries: HMAC-SHA256 over each stored entry and its key. Each key is 32 bytes (or a `CryptoKey`);
   * the first signs, all verify (rotation without a flush). An entry that fails verification is a miss,
   * counted as `cache.integrity.rejected`. @default {CACHE_SIGNING_KEYS}
   */
  signingKeys?: readonly KeyMaterial[];
  /**
   * Encrypted entries: AES-256-GCM with a random nonce per write and the storage key as associated data, so
   * the store holds no plaintext value (keys and tag names stay readable). Authenticated like `signingKeys`;
   * the first key encrypts, all decrypt. @default {CACHE_ENCRYPTION_KEYS}
   */
  encryptionKeys?: readonly KeyMaterial[];
}

/** Every option name of {@linkcode SealedOptions}. */
const NAMES = optionNames<SealedOptions>({ signingKeys: 1, encryptionKeys: 1 });

/**
 * The `integrity` option of `createCache` and `initCache`: entries signed (`signingKeys`), encrypted
 * (`encryptionKeys`) or both. A kind of key not given is read from the cache's environment (its `env`
 * option, else the runtime's): `CACHE_SIGNING_KEYS`, `CACHE_ENCRYPTION_KEYS`, comma-separated, each 64 hex
 * digits or the base64 of 32 bytes. No key at all is a `TypeError` when the cache opens.
 *
 * @example
 * ```ts
 * import { createCache } from "@svc-infra/cache";
 * import { sealed } from "@svc-infra/cache/integrity";
 *
 * // The keys from the environment, as a Worker's secrets.
 * const env = { CACHE_ENCRYPTION_KEYS: "00".repeat(32) };
 * const cache = await createCache({ env, integrity: sealed() });
 * await cache.close();
 * ```
 */
export function sealed(options: SealedOptions = {}): CacheFeature<"integrity"> {
  const plugin: IntegrityPlugin = {
    feature: "integrity",
    async open(what, env) {
      checkOptions(options, NAMES, `${what}: integrity: sealed()`);
      const keys = {
        signingKeys: options.signingKeys,
        encryptionKeys: options.encryptionKeys,
        signingKeysText: readEnv("CACHE_SIGNING_KEYS", env),
        encryptionKeysText: readEnv("CACHE_ENCRYPTION_KEYS", env),
      };
      if (!Object.values(keys).some(Boolean)) {
        throw new TypeError(
          `${what}: integrity: sealed() has no key: give signingKeys or encryptionKeys, or set CACHE_SIGNING_KEYS or CACHE_ENCRYPTION_KEYS in the environment`,
        );
      }
      const sealer = await sealerFor(keys, what);
      return (store, onRejected, remembered) => sealedStore(store, sealer, onRejected, remembered);
    },
  };
  return plugin;
}
