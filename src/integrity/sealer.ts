/**
 * Seals entries for the shared store and opens what it returns. A sealed entry keeps the head a conditional
 * write compares (`["svc4z","<token>"`, readable), then either
 * - a signature: `["svc4z","<token>","s.<HMAC-SHA256>",<entry>]`, over the storage key and the whole entry; or
 * - a ciphertext: `["svc4z","<token>","e.<nonce and AES-256-GCM ciphertext>"]`, the storage key and the token
 *   as associated data, a random 96-bit nonce per write.
 * Binding the storage key means an entry copied under another key does not open. Opening tries each key in
 * turn (rotation); anything that does not open, and any unsealed entry, is rejected.
 *
 * @module
 */

import { fromBase64, toBase64 } from "./_base64.ts";
import type { WebCryptoKey } from "./keys.ts";

/** The head of an entry as the core writes it (see entry.ts). */
const PLAIN_HEAD = '["svc4","';
/** The head of a sealed entry. */
const SEALED_HEAD = '["svc4z","';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Characters a sealed entry adds besides its payload: heads, token (16), quotes, markers, commas. */
const FRAME = SEALED_HEAD.length + 16 + 8;
/** A base64 HMAC-SHA256. */
const SIGNATURE_CHARS = 44;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Signs or encrypts entries with the configured keys. */
export class Sealer {
  readonly #signing: readonly CryptoKey[];
  readonly #encryption: readonly CryptoKey[];

  /** At least one of the lists is non-empty; with encryption keys, entries are encrypted (and so authenticated). */
  constructor(signing: readonly WebCryptoKey[] = [], encryption: readonly WebCryptoKey[] = []) {
    // What Web Crypto takes: the keys were made by it (keys.ts), only their declared type is structural.
    this.#signing = signing as readonly CryptoKey[];
    this.#encryption = encryption as readonly CryptoKey[];
  }

  /** `"encrypt"` or `"sign"`: what a write does. */
  get mode(): "encrypt" | "sign" {
    return this.#encryption.length > 0 ? "encrypt" : "sign";
  }

  /** The largest entry (UTF-8 bytes) whose sealed form fits in `maxValueBytes`. */
  maxEntryBytes(maxValueBytes: number): number {
    if (this.mode === "sign") return maxValueBytes - FRAME - SIGNATURE_CHARS;
    return Math.floor((maxValueBytes - FRAME) / 4) * 3 - NONCE_BYTES - TAG_BYTES;
  }

  /** `true` for the text of an unsealed entry (ours or in a foreign layout): what `seal` applies to. */
  isEntry(value: string): boolean {
    return value.startsWith('["svc4') && !value.startsWith(SEALED_HEAD);
  }

  /** `true` for the text of a sealed entry: what `open` applies to. */
  isSealed(value: string): boolean {
    return value.startsWith(SEALED_HEAD);
  }

  /** The sealed form of the conditional-write guard of an entry (its head through the token). */
  sealedGuard(guard: string): string {
    return guard.startsWith(PLAIN_HEAD) ? SEALED_HEAD + guard.slice(PLAIN_HEAD.length) : guard;
  }

  /** A head as `getHeads` returns it, seen as the core expects (unsealed heads never match a kept guard). */
  openedHead(head: string): string {
    if (head.startsWith(SEALED_HEAD)) return PLAIN_HEAD + head.slice(SEALED_HEAD.length);
    return head.startsWith('["svc4') ? `!${head}` : head;
  }

  /** Seals `entry`, stored at `key`. */
  async seal(key: string, entry: string): Promise<string> {
    const token = entry.slice(PLAIN_HEAD.length, entry.indexOf('"', PLAIN_HEAD.length));
    if (this.mode === "sign") {
      const signature = await crypto.subtle.sign("HMAC", this.#signing[0], signed(key, entry));
      return `${SEALED_HEAD}${token}","s.${toBase64(new Uint8Array(signature))}",${entry}]`;
    }
    const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
    const ciphertext = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: associated(key, token) },
      this.#encryption[0],
      encoder.encode(entry) as BufferSource,
    );
    const payload = new Uint8Array(NONCE_BYTES + ciphertext.byteLength);
    payload.set(nonce);
    payload.set(new Uint8Array(ciphertext), NONCE_BYTES);
    return `${SEALED_HEAD}${token}","e.${toBase64(payload)}"]`;
  }

  /** The entry sealed in `stored` (read at `key`); `undefined` when it does not open. */
  async open(key: string, stored: string): Promise<string | undefined> {
    const tokenEnd = stored.indexOf('"', SEALED_HEAD.length);
    const token = stored.slice(SEALED_HEAD.length, tokenEnd);
    const kind = stored.slice(tokenEnd, tokenEnd + 5);
    const payloadEnd = stored.indexOf('"', tokenEnd + 5);
    if (tokenEnd < 0 || payloadEnd < 0) return undefined;
    const payload = fromBase64(stored.slice(tokenEnd + 5, payloadEnd));
    if (!payload) return undefined;
    const entry = kind === '","s.'
      ? await this.#verified(key, payload, stored, payloadEnd)
      : kind === '","e.' && stored.length === payloadEnd + 2 && stored.endsWith('"]')
      ? await this.#decrypted(key, token, payload)
      : undefined;
    // The readable token must be the sealed one: a conditional write compares it.
    return entry?.startsWith(`${PLAIN_HEAD}${token}"`) ? entry : undefined;
  }

  async #verified(
    key: string,
    signature: BufferSource,
    stored: string,
    end: number,
  ): Promise<string | undefined> {
    if (stored[end + 1] !== "," || !stored.endsWith("]")) return undefined;
    const entry = stored.slice(end + 2, -1);
    const message = signed(key, entry);
    for (const k of this.#signing) {
      if (await crypto.subtle.verify("HMAC", k, signature, message)) return entry;
    }
    return undefined;
  }

  async #decrypted(
    key: string,
    token: string,
    payload: Uint8Array<ArrayBuffer>,
  ): Promise<string | undefined> {
    if (this.#encryption.length === 0 || payload.length < NONCE_BYTES + TAG_BYTES) return undefined;
    const iv = payload.subarray(0, NONCE_BYTES) as BufferSource;
    const additionalData = associated(key, token);
    for (const k of this.#encryption) {
      try {
        const plain = await crypto.subtle.decrypt(
          { name: "AES-GCM", iv, additionalData },
          k,
          payload.subarray(NONCE_BYTES) as BufferSource,
        );
        return decoder.decode(plain);
      } catch { /* another key, or not ours */ }
    }
    return undefined;
  }
}

/** What a signature covers: the storage key (length-prefixed, so no two keys frame alike) and the entry. */
function signed(key: string, entry: string): BufferSource {
  return encoder.encode(`${key.length}:${key}\n${entry}`) as BufferSource;
}

/** A ciphertext's associated data: the storage key and the readable token. */
function associated(key: string, token: string): BufferSource {
  return encoder.encode(`${key.length}:${key}\n${token}`) as BufferSource;
}
