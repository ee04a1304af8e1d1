/**
 * The stored envelope, one JSON array so a hit costs a single `JSON.parse`:
 * `["svc2",createdAt,freshUntil,refreshAt,staleUntil,flags,ttlSeconds,loadMs,[tagVersion,…],value]`.
 * `flags`: 1 = negative result, 2 = value is plain JSON (else devalue's flattened form).
 *
 * @module
 */

import type { Encoded } from "./codec.ts";

/** The format marker; anything else (an old layout, another program's data) reads as corrupt. */
const HEAD = '["svc2",';

/** An entry's metadata. */
export interface EntryMeta {
  readonly createdAt: number;
  /** Logical expiry: fresh until then. */
  readonly freshUntil: number;
  /** After this, a hit triggers a background refresh (earlyTtl); `freshUntil` when none. */
  readonly refreshAt: number;
  /** Served as stale until then (grace); `freshUntil` when none. */
  readonly staleUntil: number;
  readonly negative: boolean;
  /** The ttl in seconds the entry was written with (for logs). */
  readonly ttl: number;
  /** How long the load took, in milliseconds (probabilistic early refresh weighs it). */
  readonly loadMs: number;
  /** Versions of the entry's tags, in the order of its tags. */
  readonly versions: readonly string[];
}

/** A decoded entry: metadata and its value, parsed but not yet revived. */
export interface Entry extends EntryMeta {
  readonly parsed: unknown;
  readonly json: boolean;
  /** The parsed tree is kept for other readers (decode cache): hand out copies only. */
  readonly shared: boolean;
}

/** Encodes an entry for the store. */
export function encodeEntry(meta: EntryMeta, value: Encoded): string {
  const flags = (meta.negative ? 1 : 0) | (value.json ? 2 : 0);
  return `${HEAD}${meta.createdAt},${meta.freshUntil},${meta.refreshAt},${meta.staleUntil},${flags},${meta.ttl},${meta.loadMs},${
    JSON.stringify(meta.versions)
  },${value.text}]`;
}

/** Decodes a stored entry; `undefined` when it is not one of ours or is damaged. */
export function decodeEntry(raw: string, shared = false): Entry | undefined {
  if (!raw.startsWith(HEAD)) return undefined;
  let a: unknown[];
  try {
    a = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const flags = a[5];
  if (
    a.length !== 10 || typeof a[1] !== "number" || typeof a[2] !== "number" || typeof a[3] !== "number" ||
    typeof a[4] !== "number" || typeof flags !== "number" || typeof a[6] !== "number" ||
    typeof a[7] !== "number" ||
    !Array.isArray(a[8])
  ) return undefined;
  return {
    createdAt: a[1],
    freshUntil: a[2],
    refreshAt: a[3],
    staleUntil: a[4],
    negative: (flags & 1) === 1,
    ttl: a[6],
    loadMs: a[7],
    versions: a[8] as string[],
    parsed: a[9],
    json: (flags & 2) === 2,
    shared,
  };
}
