/**
 * The conformance cases of signed and encrypted entries: whoever can write the store plants a forged entry,
 * tampers with a sealed one, replays one under another key, or reads with the wrong key; each is a miss that
 * loads, never a value served. Registered by `testAdapter` for every store.
 *
 * @module
 */

import type { CacheStore } from "../store/store.ts";
import { createCache } from "../api/create_cache.ts";
import { sealed as sealedEntries } from "../integrity/mod.ts";

type WithStore = (title: string, fn: (store: CacheStore, ns: string) => Promise<void>) => void;

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`Conformance: ${message}`);
}

/** `text` with the character at `at` replaced by another base64 character. */
const flipped = (text: string, at: number) =>
  text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
const key = () => crypto.getRandomValues(new Uint8Array(32));
const SECRET = "plaintext-marker-4f2a";
/** Rejections are logged as warnings: expected here. */
const logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Registers the integrity cases on `withStore`; `settle` waits out an eventual store's propagation. */
export function integrityCases(withStore: WithStore, settle: () => Promise<unknown>): void {
  for (const mode of ["signingKeys", "encryptionKeys"] as const) {
    withStore(
      `${mode}: tampered, forged, replayed-under-another-key and wrong-key entries are misses`,
      async (store, ns) => {
        const [k1, k2] = [key(), key()];
        const sealed = await createCache({
          store,
          prefix: ns,
          integrity: sealedEntries({ [mode]: [k1] }),
          logger,
        });
        const plain = await createCache({ store, prefix: `${ns}p`, logger });
        let loads = 0;
        const load = (id: string) => () => (loads++, { id, secret: SECRET });
        const read = (cache: typeof sealed, id: string) => cache.getOrSet(`u:${id}`, load(id), { ttl: 60 });
        const raw = async (id: string, prefix = ns) => (await store.getMany([`${prefix}:v1:e:u:${id}`]))[0];
        const put = async (id: string, value: string) => {
          await store.setMany([{ key: `${ns}:v1:e:u:${id}`, value, ttlMs: 60_000 }]);
          await settle();
        };
        try {
          await read(sealed, "1");
          await settle();
          check(
            loads === 1 && (await read(sealed, "1")).id === "1" && loads === 1,
            "a sealed entry is a hit",
          );
          const stored = await raw("1");
          if (!stored?.startsWith('["svc4z","')) throw new Error(`Conformance: stored sealed: ${stored}`);
          if (mode === "encryptionKeys") {
            check(!stored.includes(SECRET) && !stored.includes('"id"'), "the store holds no plaintext value");
          }
          const rejected = () => sealed.metrics()["cache.integrity.rejected"] ?? 0;
          const missLoads = async (id: string, what: string) => {
            const before = loads, refused = rejected();
            const value = await read(sealed, id);
            check(
              loads === before + 1 && value.id === id,
              `${what}: a miss that loads (${loads - before} loads)`,
            );
            check(rejected() > refused, `${what}: counted as cache.integrity.rejected`);
          };

          // Tampered: the value changed, the seal kept.
          const tampered = mode === "signingKeys"
            ? stored.replace(`"${"1"}"`, `"${"X"}"`).replace(SECRET, "evil")
            : flipped(stored, stored.indexOf('","e.') + 10);
          check(tampered !== stored, "the tampering changed the stored text");
          await put("1", tampered);
          await missLoads("1", "tampered");

          // Forged: an unsealed entry, as any client of the store (or a cache without keys) writes it.
          await plain.getOrSet("u:2", () => ({ id: "2", secret: "forged" }), { ttl: 60 });
          await settle();
          await put("2", (await raw("2", `${ns}p`))!);
          await missLoads("2", "forged");

          // Replayed: a genuine sealed entry copied under another key.
          await read(sealed, "3");
          await settle();
          await put("4", (await raw("3"))!);
          await missLoads("4", "replayed under another key");

          // Wrong key: another cache's key does not open it; rotation (new key first, old kept) does.
          await read(sealed, "5");
          await settle();
          const other = await createCache({
            store,
            prefix: ns,
            integrity: sealedEntries({ [mode]: [k2] }),
            logger,
          });
          const rotated = await createCache({
            store,
            prefix: ns,
            integrity: sealedEntries({ [mode]: [k2, k1] }),
            logger,
          });
          try {
            const before = loads;
            check(
              (await read(rotated, "5")).id === "5" && loads === before,
              "rotation: the old key still opens",
            );
            check(
              (await read(other, "5")).id === "5" && loads === before + 1,
              "wrong key: a miss that loads",
            );
            check((other.metrics()["cache.integrity.rejected"] ?? 0) >= 1, "wrong key: counted");
          } finally {
            await other.close();
            await rotated.close();
          }
        } finally {
          await sealed.close();
          await plain.close();
        }
      },
    );
  }

  withStore(
    "signingKeys, encryptionKeys: a malformed key is a TypeError naming it, without its bytes",
    async (store) => {
      const short = new Uint8Array(16).fill(0xab);
      for (
        const [options, pattern] of [
          [
            { signingKeys: [key(), short] },
            /signingKeys\[1\] must be 32 bytes, current value is a Uint8Array of 16/,
          ],
          [{ encryptionKeys: [] }, /encryptionKeys must be a non-empty array/],
          [{ encryptionKeys: ["0123456789abcdef0123456789abcdef"] }, /encryptionKeys\[0\] .* a string of 32/],
        ] as const
      ) {
        let error: unknown;
        try {
          await createCache({ store, integrity: sealedEntries(options as never) });
        } catch (e) {
          error = e;
        }
        check(error instanceof TypeError && pattern.test(error.message), `${pattern}: got ${error}`);
        check(
          !/ab,ab|171|0123456789abcdef/.test((error as Error).message),
          "the message shows no key material",
        );
      }
    },
  );
}
