/**
 * Key material for signed and encrypted entries: each key is 32 bytes (a `Uint8Array`) or a Web Crypto
 * `CryptoKey` of that strength. The first key of a list seals, all of them open (rotation without a flush).
 * A key that does not qualify is a `TypeError` naming its position; no message ever shows key bytes.
 *
 * @module
 */

import { fromBase64 } from "./_base64.ts";

/**
 * A Web Crypto key (the global `CryptoKey`), declared by its shape: a Node project whose TypeScript has no DOM
 * library has no global `CryptoKey` type, and the package's types must check there too.
 */
export interface WebCryptoKey {
  /** `"secret"` for the keys used here. */
  readonly type: string;
  /** Whether its bytes can be exported. */
  readonly extractable: boolean;
  /** Its algorithm: `HMAC` (SHA-256) or `AES-GCM` (256 bits). */
  readonly algorithm: { readonly name: string };
  /** What it may do: `sign`/`verify`, or `encrypt`/`decrypt`. */
  readonly usages: readonly string[];
}

/** A key: 32 random bytes, or a `CryptoKey` (HMAC SHA-256 for signing, AES-GCM 256 for encryption). */
export type KeyMaterial = Uint8Array | WebCryptoKey;

const KEY_BYTES = 32;

interface Kind {
  readonly option: "signingKeys" | "encryptionKeys";
  readonly algorithm: HmacImportParams | "AES-GCM";
  readonly name: "HMAC" | "AES-GCM";
  readonly seal: KeyUsage;
  readonly open: KeyUsage;
}

const SIGNING: Kind = {
  option: "signingKeys",
  algorithm: { name: "HMAC", hash: "SHA-256" },
  name: "HMAC",
  seal: "sign",
  open: "verify",
};
const ENCRYPTION: Kind = {
  option: "encryptionKeys",
  algorithm: "AES-GCM",
  name: "AES-GCM",
  seal: "encrypt",
  open: "decrypt",
};

/**
 * The keys an environment variable holds (`CACHE_SIGNING_KEYS`, `CACHE_ENCRYPTION_KEYS`: a Worker's secrets):
 * comma-separated, each 64 hex digits or the base64 of 32 bytes. A malformed one is a `TypeError` naming its
 * position and length, never its text.
 */
export function keysFromEnv(text: string, name: string, what: string): Uint8Array[] {
  return text.split(",").map((part, i) => {
    const key = part.trim();
    const bytes = /^[0-9a-f]{64}$/i.test(key)
      ? Uint8Array.from(key.match(/../g)!, (pair) => parseInt(pair, 16))
      : fromBase64(key);
    if (!bytes || bytes.byteLength !== KEY_BYTES) {
      throw new TypeError(
        `${what}: ${name}[${i}] must be ${KEY_BYTES} bytes as 64 hex digits or base64, current value is ${key.length} characters`,
      );
    }
    return bytes;
  });
}

/** Checks and imports `signingKeys`: HMAC-SHA256 keys, the first one signing. */
export function signingKeys(keys: unknown, what: string): Promise<WebCryptoKey[]> {
  return importKeys(keys, SIGNING, what);
}

/** Checks and imports `encryptionKeys`: AES-256-GCM keys, the first one encrypting. */
export function encryptionKeys(keys: unknown, what: string): Promise<WebCryptoKey[]> {
  return importKeys(keys, ENCRYPTION, what);
}

async function importKeys(keys: unknown, kind: Kind, what: string): Promise<CryptoKey[]> {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new TypeError(
      `${what}: ${kind.option} must be a non-empty array of keys (the first seals, all open), current value is ${
        describe(keys)
      }`,
    );
  }
  return await Promise.all(keys.map(async (key, i) => {
    const wrong = (why: string) =>
      new TypeError(`${what}: ${kind.option}[${i}] ${why}, current value is ${describe(key)}`);
    if (key instanceof Uint8Array) {
      if (key.byteLength !== KEY_BYTES) throw wrong(`must be ${KEY_BYTES} bytes`);
      // A copy: the caller's array may sit on a SharedArrayBuffer, which Web Crypto refuses.
      const bytes = new Uint8Array(key);
      return await crypto.subtle.importKey("raw", bytes, kind.algorithm, false, [kind.seal, kind.open]);
    }
    if (!isCryptoKey(key)) throw wrong(`must be ${KEY_BYTES} bytes (a Uint8Array) or a CryptoKey`);
    const algorithm = key.algorithm as { name: string; length?: number; hash?: { name: string } };
    if (algorithm.name !== kind.name) throw wrong(`must be a ${kind.name} key`);
    if (kind.name === "HMAC" && algorithm.hash?.name !== "SHA-256") throw wrong("must use SHA-256");
    if ((algorithm.length ?? 0) < KEY_BYTES * 8) throw wrong(`must be at least ${KEY_BYTES * 8} bits`);
    const needs = i === 0 ? [kind.seal, kind.open] : [kind.open];
    const missing = needs.filter((usage) => !key.usages.includes(usage));
    if (missing.length > 0) throw wrong(`must allow ${missing.join(" and ")}`);
    return key;
  }));
}

function isCryptoKey(value: unknown): value is CryptoKey {
  return typeof CryptoKey !== "undefined" && value instanceof CryptoKey;
}

/** What a value is, never what it holds. */
function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `a Uint8Array of ${value.byteLength} bytes`;
  if (isCryptoKey(value)) {
    const { name, length } = value.algorithm as { name: string; length?: number };
    return `a CryptoKey (${name}${length ? `, ${length} bits` : ""})`;
  }
  if (typeof value === "string") return `a string of ${value.length} characters (decode it to bytes first)`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value instanceof ArrayBuffer) return `an ArrayBuffer (wrap it: new Uint8Array(buffer))`;
  return value === null ? "null" : typeof value;
}
