/**
 * Which keys one call of a cached function reads: the logical key rendered from its argument, the entry key,
 * the namespace generation (remote stores) and its tags' version keys. When the key and the tag templates
 * depend on one property at most, the rendered keys are remembered per value of it: hot calls skip rendering,
 * and the store is handed the same key strings (whose hashes are cached). A tags function is called on every
 * call (its tags may depend on anything): the remembered keys serve it while it returns the same tags. A
 * remembered plan also holds what it last read: the store slot and the entry whose versions were found current
 * (in-process stores), or the entry text and its decoding (remote stores).
 *
 * @module
 */

import { type CompiledTemplate, renderTemplate } from "./template.ts";
import { checkFunctionTags, type CompiledTags, functionTags, renderTags, type TagWarnings } from "./tags.ts";
import type { CacheStore, Derivation, StoreSlot } from "../store/store.ts";
import { decodeEntry, type Entry } from "../entry/entry.ts";
import type { NearMemo } from "../tier/near_tier.ts";
import { isName } from "./name.ts";

const MEMO_NONE: unique symbol = Symbol("no placeholder");
/**
 * Rendered keys remembered per cached function before the memo starts over: as many as the store holds
 * entries when it says (more could not be hits), else this many (a remote read costs far more than rendering).
 */
const MEMO_DEFAULT = 10_000;
/**
 * Entry text (UTF-16 code units) a function's remembered plans keep decoded for remote hits before the memo
 * starts over: at most 4 MiB of text per function, and the trees parsed from it.
 */
const MEMO_TEXT = 2 << 20;

/** What a call reads. `keys` holds promises only when a key is long enough to need hashing (`pending`). */
export interface ReadPlan extends NearMemo {
  readonly logical: string;
  readonly keys: readonly (string | Promise<string>)[];
  readonly pending: boolean;
  /**
   * The text a remote store last returned for the entry and its decoding (remembered plans only): an unchanged
   * entry, the common hit, is compared instead of parsed, and its value copied from the kept tree.
   */
  decoded: { readonly raw: string; readonly entry: Entry } | undefined;
  /** Kept in the memo for later calls with the same value. */
  readonly remembered: boolean;
}

/**
 * What the in-process `store` derives (`derive`) from the value at `key`: from the slot `memo` remembers when it
 * still holds the value (a hot key skips the key lookup), else looked up and its slot remembered. A dropped
 * slot (evicted, replaced, deleted) answers null, so the key is looked up again.
 */
export function peekRemembered<T>(
  store: CacheStore,
  memo: { slot: StoreSlot | undefined },
  key: string,
  now: number | undefined,
  derive: Derivation<T>,
): T | undefined {
  const remembered = memo.slot && store.peekSlot!(memo.slot, now, derive);
  if (remembered !== undefined && remembered !== null) return remembered;
  const found = store.peekDerived!(key, now, derive) ?? undefined;
  memo.slot = found === undefined ? undefined : store.slotOf?.(key);
  return found;
}

/** What a read plan needs from its cache: the key spaces, the store's size, where skipped tags are reported. */
export interface KeySpaces {
  readonly store: Pick<CacheStore, "capabilities">;
  readonly keys: {
    readonly generationKeys: readonly string[];
    entryKey(logical: string): string | Promise<string>;
    tagKey(tag: string): string | Promise<string>;
  };
  readonly diagnostics: TagWarnings;
}

/** The keys of one cached function's calls. */
export class ReadKeys<A> {
  readonly #what: string;
  readonly #template?: CompiledTemplate;
  readonly #keyFn: unknown;
  readonly #tags: CompiledTags<A>;
  readonly #memoField?: string | null;
  #memo = new Map<unknown, ReadPlan>();
  #memoCache?: KeySpaces;
  /** What the tags function returned for each remembered plan (a plan serves a call that returns the same). */
  readonly #fnTags = new WeakMap<ReadPlan, readonly string[]>();
  /** Entry text kept decoded by the memo's plans. */
  #memoText = 0;

  constructor(what: string, template: CompiledTemplate | undefined, keyFn: unknown, tags: CompiledTags<A>) {
    this.#what = what;
    this.#template = template;
    this.#keyFn = keyFn;
    this.#tags = tags;
    const fields = new Set([...(template?.fields ?? []), ...tags.templates.flatMap((t) => t.fields)]);
    if (template && fields.size <= 1) this.#memoField = fields.size ? [...fields][0] : null;
  }

  /** The logical key (without namespace) of an argument. */
  logicalKey(arg: A): string {
    if (this.#template) return renderTemplate(this.#template, arg, this.#what);
    const key = (this.#keyFn as (arg: A) => string)(arg);
    if (!isName(key)) {
      throw new TypeError(
        `Cannot cache ${this.#what}: the key function must return a non-empty, well-formed string`,
      );
    }
    return key;
  }

  /** The keys a call with `arg` reads in `cache`. */
  plan(cache: KeySpaces, arg: A): ReadPlan {
    const memo = this.#memoFor(cache, arg);
    let fnTags: readonly string[] | undefined;
    if (memo) {
      if (!this.#tags.fn) return memo; // shared by every call with this value: plans are read, never changed
      const returned = this.#tags.fn(arg);
      // The same tags as those checked when the plan was made: served without checking them again.
      if (Array.isArray(returned) && sameTags(this.#fnTags.get(memo)!, returned)) return memo;
      fnTags = checkFunctionTags(returned, this.#what);
    }
    const logical = this.logicalKey(arg);
    if (this.#tags.fn) fnTags ??= functionTags(this.#tags.fn, arg, this.#what);
    const tagList = renderTags(this.#tags, arg, this.#what, cache.diagnostics, false, fnTags);
    // Keys are strings unless one is long enough to need hashing (async Web Crypto): keep the common case sync.
    const spaces = cache.keys;
    const keys: (string | Promise<string>)[] = [spaces.entryKey(logical)];
    let pending = typeof keys[0] !== "string";
    for (const generation of spaces.generationKeys) keys.push(generation);
    for (const tag of tagList) {
      const key = spaces.tagKey(tag);
      if (typeof key !== "string") pending = true;
      keys.push(key);
    }
    if (!pending) this.#remember(cache, arg, logical, keys as string[], fnTags);
    return {
      logical,
      keys,
      pending,
      slot: undefined,
      current: undefined,
      decoded: undefined,
      remembered: false,
    };
  }

  #memoFor(cache: KeySpaces, arg: A) {
    if (this.#memoField === undefined) return undefined;
    if (this.#memoCache !== cache) {
      this.#startOver();
      this.#memoCache = cache;
    }
    return this.#memo.get(
      this.#memoField === null ? MEMO_NONE : (arg as Record<string, unknown>)?.[this.#memoField],
    );
  }

  /** Decodes the entry a remote store returned for `plan`, reusing its last decoding when the text is the same. */
  decode(plan: ReadPlan, raw: string): Entry | undefined {
    const kept = plan.decoded;
    if (kept?.raw === raw) return kept.entry;
    if (!plan.remembered) return decodeEntry(raw);
    // Every text kept is counted, also those it replaces: an over-count, never an under-count.
    if (this.#memoText + raw.length > MEMO_TEXT) {
      this.#startOver(); // the plan leaves the memo with the rest
      return decodeEntry(raw);
    }
    const entry = decodeEntry(raw, true); // kept for later hits: callers get copies
    if (entry === undefined) return undefined;
    this.#memoText += raw.length;
    plan.decoded = { raw, entry };
    return entry;
  }

  #startOver() {
    this.#memo = new Map();
    this.#memoText = 0;
  }

  #remember(cache: KeySpaces, arg: A, logical: string, keys: string[], fnTags?: readonly string[]) {
    if (this.#memoField === undefined || this.#memoCache !== cache) return;
    const value = this.#memoField === null ? MEMO_NONE : (arg as Record<string, unknown>)[this.#memoField];
    if (typeof value !== "number" && typeof value !== "string" && value !== MEMO_NONE) return;
    if (this.#memo.size >= (cache.store.capabilities.maxEntries ?? MEMO_DEFAULT)) this.#startOver();
    const plan: ReadPlan = {
      logical,
      keys,
      pending: false,
      slot: undefined,
      current: undefined,
      decoded: undefined,
      remembered: true,
    };
    this.#memo.set(value, plan);
    if (fnTags) this.#fnTags.set(plan, [...fnTags]); // a copy: the function may change the array it returned
  }
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
