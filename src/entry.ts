/**
 * The stored envelope: timing, flags and the tag versions observed when the load started, then the
 * serialized value. One line of header keeps the hit path to a split and a compare.
 *
 * `svc1|createdAt|freshUntil|refreshAt|staleUntil|flags|ttlSeconds|tagVersion,tagVersion\n<payload>`
 *
 * @module
 */

/** The format marker; a different one (an old layout, another program's data) reads as corrupt. */
const MAGIC = "svc1";

/** An entry as stored, with its payload still serialized. */
export interface Entry {
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
  /** Versions of the entry's tags, in the order of its tags. */
  readonly versions: readonly string[];
  readonly payload: string;
}

/** Encodes an entry for the store. */
export function encodeEntry(entry: Entry): string {
  return `${MAGIC}|${entry.createdAt}|${entry.freshUntil}|${entry.refreshAt}|${entry.staleUntil}|${
    entry.negative ? 1 : 0
  }|${entry.ttl}|${entry.versions.join(",")}\n${entry.payload}`;
}

/** Decodes a stored entry; `undefined` when it is not one of ours or is damaged. */
export function decodeEntry(raw: string): Entry | undefined {
  const end = raw.indexOf("\n");
  if (end < 0 || !raw.startsWith(MAGIC + "|")) return undefined;
  const head = raw.slice(MAGIC.length + 1, end).split("|");
  if (head.length !== 7) return undefined;
  const createdAt = Number(head[0]), freshUntil = Number(head[1]), refreshAt = Number(head[2]);
  const staleUntil = Number(head[3]), ttl = Number(head[5]);
  if (
    !Number.isFinite(createdAt) || !Number.isFinite(freshUntil) || !Number.isFinite(refreshAt) ||
    !Number.isFinite(staleUntil) || !Number.isFinite(ttl) || (head[4] !== "0" && head[4] !== "1")
  ) return undefined;
  return {
    createdAt,
    freshUntil,
    refreshAt,
    staleUntil,
    negative: head[4] === "1",
    ttl,
    versions: head[6] === "" ? [] : head[6].split(","),
    payload: raw.slice(end + 1),
  };
}
