/**
 * What the store holds at an entry key:
 * - an entry, one JSON array so a hit costs a single `JSON.parse`:
 *   `["svc4","token",createdAt,freshUntil,refreshAt,staleUntil,flags,ttlSeconds,loadMs,[version,…],[dependency,…],value]`,
 *   then `,"etag"` when the loader set one (`ctx.setEtag`: builds before it read such an entry as damaged);
 *   (dependencies: the keys, relative to the top cache's namespace (a child's keep `n:{name}:`), whose versions the entry was stored under: the namespace
 *   generation on remote stores, then its tags; so an entry can be validated by its key alone, as `get` does);
 *   (`flags`: 1 = negative result, 2 = value is plain JSON, else devalue's flattened form, 4 = the last
 *   dependencies are tags its loader added, `ctx.addTags`: builds before it validate them like the rest);
 * - or a loading marker `~token`, written before a load reads its data when the key was empty (a miss).
 *
 * The token is unique per write. A load stores its entry only while the key still starts with what the load
 * claimed ({@linkcode writeGuard}): an invalidation (a delete) or another write in between fails that
 * compare-and-set, so a load already in flight can never undo an invalidation.
 *
 * @module
 */

import type { Encoded } from "./codec.ts";
import type { Derivation } from "../store/store.ts";

/** The format marker; anything else (an old layout, another program's data) reads as corrupt. */
const HEAD = '["svc4","';
const MARKER = "~";
/** The flag of an entry whose last dependencies are tags its loader added. */
const ADDED = 4;
/** One shared empty list for entries without dependencies (most in-process ones): no array per entry. */
const NONE: readonly string[] = Object.freeze([]);

/** An entry's metadata. */
export interface EntryMeta {
  /** Unique per write: what a later conditional write compares. */
  readonly token: string;
  readonly createdAt: number;
  /** Logical expiry: fresh until then. */
  readonly freshUntil: number;
  /** After this, a hit triggers a background refresh (earlyTtl); `freshUntil` when none. */
  readonly refreshAt: number;
  /** Served as stale until then (grace); `freshUntil` when none. */
  readonly staleUntil: number;
  readonly negative: boolean;
  /** The ttl in seconds the entry was written with: a negative result's `ttl` on a hit, and debug lines. */
  readonly ttl: number;
  /** How long the load took, in milliseconds (probabilistic early refresh weighs it). */
  readonly loadMs: number;
  /** Versions of the entry's dependencies, in their order. */
  readonly versions: readonly string[];
  /** The keys those versions were read from, relative to the top cache's namespace. */
  readonly dependencies: readonly string[];
  /** What the loader gave `ctx.setEtag`, offered to the next load as `ctx.stale.etag`. */
  readonly etag?: string;
  /** The dependencies past the declared ones are tags the loader added (`ctx.addTags`). */
  readonly added?: boolean;
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
  return entryHead(meta, value.json) + value.text + entryTail(meta);
}

/** What an encoded entry holds before its value. */
function entryHead(meta: EntryMeta, json: boolean): string {
  const flags = (meta.negative ? 1 : 0) | (json ? 2 : 0) | (meta.added ? ADDED : 0);
  return `${HEAD}${meta.token}",${meta.createdAt},${meta.freshUntil},${meta.refreshAt},${meta.staleUntil},${flags},${meta.ttl},${meta.loadMs},${
    JSON.stringify(meta.versions)
  },${JSON.stringify(meta.dependencies)},`;
}

/** What an encoded entry holds after its value. */
function entryTail(meta: EntryMeta): string {
  return meta.etag === undefined ? "]" : `,${JSON.stringify(meta.etag)}]`;
}

/** An entry's text as its metadata (`head`, `tail`) around its value's text, kept as stored (`middle`). */
export interface EntryEnds {
  readonly head: string;
  readonly middle: string;
  readonly tail: string;
  readonly json: boolean;
  readonly negative: boolean;
}

/**
 * The ends of the stored entry `raw` (what a refresh in place compares), or `undefined` when `raw` is not an
 * entry whose metadata encodes back to the same text (it is then written whole).
 */
export function entryEnds(raw: string): EntryEnds | undefined {
  const entry = decodeEntry(raw);
  if (entry === undefined) return undefined;
  const head = entryHead(entry, entry.json), tail = entryTail(entry);
  if (raw.length < head.length + tail.length || !raw.startsWith(head) || !raw.endsWith(tail)) {
    return undefined;
  }
  const middle = raw.slice(head.length, raw.length - tail.length);
  return { head, middle, tail, json: entry.json, negative: entry.negative };
}

/** The ends an entry with `meta` gets around a value kept as stored (see {@linkcode entryEnds}). */
export function endsFor(meta: EntryMeta, json: boolean): { head: string; tail: string } {
  return { head: entryHead(meta, json), tail: entryTail(meta) };
}

/**
 * The stored text of a decoded entry, as `encodeEntry` wrote it (for a store that keeps the decoding alone; it
 * checks the text comes back exactly before it lets the text go). `""` for a text that did not decode.
 */
export function reencodeEntry(entry: Entry | undefined): string {
  return entry === undefined
    ? ""
    : encodeEntry(entry, { text: JSON.stringify(entry.parsed), json: entry.json });
}

/**
 * Decodes an entry an in-process store keeps for every later reader of the stored value (`shared`: they get
 * copies); the store may keep the decoding alone, re-encoding the text when it is read as text.
 */
export const sharedEntry: Derivation<Entry | undefined> = Object.assign(
  (raw: string) => decodeEntry(raw, true),
  { encode: reencodeEntry },
);

/** Decodes a stored entry; `undefined` when it is not one of ours or is damaged. */
export function decodeEntry(raw: string, shared = false): Entry | undefined {
  if (!raw.startsWith(HEAD)) return undefined;
  let a: unknown[];
  try {
    a = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const flags = a[6];
  if (
    (a.length !== 12 && (a.length !== 13 || typeof a[12] !== "string")) || typeof a[1] !== "string" ||
    typeof a[2] !== "number" || typeof a[3] !== "number" ||
    typeof a[4] !== "number" || typeof a[5] !== "number" || typeof flags !== "number" ||
    typeof a[7] !== "number" || typeof a[8] !== "number" || !Array.isArray(a[9]) || !Array.isArray(a[10])
  ) return undefined;
  return {
    token: a[1],
    createdAt: a[2],
    freshUntil: a[3],
    refreshAt: a[4],
    staleUntil: a[5],
    negative: (flags & 1) === 1,
    ttl: a[7],
    loadMs: a[8],
    versions: a[9].length === 0 ? NONE : a[9] as string[],
    dependencies: a[10].length === 0 ? NONE : a[10] as string[],
    parsed: a[11],
    json: (flags & 2) === 2,
    shared,
    etag: a.length === 13 ? a[12] as string : undefined,
    added: (flags & ADDED) === ADDED,
  };
}

/**
 * `true` when `raw` is an entry with added tags, told from its flags without parsing it (a load looks at the
 * entry it replaces: most have none).
 */
export function hasAddedTags(raw: string): boolean {
  if (!raw.startsWith(HEAD)) return false;
  // The flags follow the token and four numbers: the fifth comma after the token.
  let at = raw.indexOf('"', HEAD.length);
  for (let i = 0; i < 5 && at >= 0; i++) at = raw.indexOf(",", at + 1);
  return at >= 0 && (Number(raw.slice(at + 1, raw.indexOf(",", at + 1))) & ADDED) === ADDED;
}

/** The loading marker a load writes (`ifAbsent`) into an empty entry key before it reads its data. */
export function loadingMarker(token: string): string {
  return MARKER + token;
}

/** `true` for a loading marker: a miss, not a damaged entry. */
export function isLoadingMarker(raw: string): boolean {
  return raw.startsWith(MARKER);
}

/**
 * The text a conditional write over `raw` compares: the head of an entry up to its token, or a whole marker.
 * `undefined` for anything else (a damaged or foreign value): nothing is stored over it.
 */
export function writeGuard(raw: string): string | undefined {
  if (isLoadingMarker(raw)) return raw;
  if (!raw.startsWith(HEAD)) return undefined;
  const end = raw.indexOf('"', HEAD.length);
  return end > HEAD.length ? raw.slice(0, end + 1) : undefined;
}
