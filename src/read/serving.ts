/**
 * What serving an entry means for one cached function: the caller's value (a copy, or the frozen shared tree
 * with `zeroCopy`, checked by the `schema` when one is set) and the accounting of a hit (the call's `onResult`,
 * counters, the event, the debug line), and of a miss. Every hit path of a cached function (the memory-tier
 * peek, L1, the store lookup, grace) serves through here.
 *
 * @module
 */

import type { CacheContext } from "../engine/context.ts";
import type { Entry } from "../entry/entry.ts";
import { NOTHING, readValue } from "../entry/value.ts";
import type { LoadResult } from "../load/flight.ts";
import type { ReadResult } from "./options.ts";
import { joinedCopy, type StandardSchemaV1, validNow } from "./schema.ts";

/** How fresh a served entry was: `HIT` (fresh) or `STALE` (within its grace). */
export type HitKind = "HIT" | "STALE";

/** The serving rules of one cached function. */
export class Serving {
  readonly what: string;
  /** The `schema` option: checked on every hit path only when set. */
  readonly schema: StandardSchemaV1 | undefined;
  readonly #zeroCopy: boolean | undefined;

  constructor(what: string, options: { readonly zeroCopy?: boolean; readonly schema?: StandardSchemaV1 }) {
    this.what = what;
    this.schema = options.schema;
    this.#zeroCopy = options.zeroCopy;
  }

  /**
   * The caller's value of `entry`, checked synchronously by the schema; `NOTHING` when it cannot be revived,
   * or the schema rejects it or answers asynchronously (the store lookup then validates it).
   */
  valueNow(cache: CacheContext, entry: Entry): unknown {
    const value = readValue(entry, cache.codec, this.#zeroCopy);
    return this.schema !== undefined && value !== NOTHING && !entry.negative
      ? validNow(this.schema, value)
      : value;
  }

  /** The caller's value of `entry`, unchecked; `NOTHING` when it cannot be revived. */
  valueOf(cache: CacheContext, entry: Entry): unknown {
    return readValue(entry, cache.codec, this.#zeroCopy);
  }

  /** A joining caller's copy of a load's result: the schema's output, as the loader's caller got. */
  copyOf(result: LoadResult): unknown {
    return joinedCopy(result, this.schema, this.what);
  }

  /** Accounts for a served entry: `onResult`, counters, the event and the debug line. */
  served(
    cache: CacheContext,
    logical: string,
    onResult: ((result: ReadResult) => void) | undefined,
    entry: Entry,
    started: number,
    kind: HitKind,
    tier?: "l1",
  ): void {
    onResult?.({
      status: kind === "HIT" ? "hit" : "stale",
      createdAt: entry.createdAt,
      freshUntil: entry.freshUntil,
    });
    const what = this.what, diagnostics = cache.diagnostics, metrics = cache.metrics;
    metrics.count("cache.hit", what);
    if (kind === "STALE") metrics.count("cache.stale", what);
    if (entry.negative) metrics.count("cache.negative", what);
    if (diagnostics.observed) {
      diagnostics.emit({
        type: kind === "HIT" ? "hit" : "stale",
        key: logical,
        function: what,
        tier: tier ?? "l2",
        // Timed for listeners only: telemetry counts hits, and a clock read is a tenth of a memory hit.
        durationMs: diagnostics.events.active ? performance.now() - started : undefined,
      });
    }
    if (cache.settings.debug) {
      diagnostics.debug(
        `[${kind}] key=${logical} duration_ms=${(performance.now() - started).toFixed(1)}ms ttl=${entry.ttl}${
          tier ? ` tier=${tier}` : ""
        }`,
      );
    }
  }

  /** Accounts for a miss: its counter and its event. */
  missed(cache: CacheContext, logical: string, started: number): void {
    cache.metrics.count("cache.miss", this.what);
    if (cache.diagnostics.observed) {
      cache.diagnostics.emit({
        type: "miss",
        key: logical,
        function: this.what,
        durationMs: performance.now() - started,
      });
    }
  }
}
