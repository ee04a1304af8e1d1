/**
 * Where a namespace's keys live in the store. Entry, tag-version and lock keys have separate spaces under the
 * namespace; `g` is the namespace's generation, a version every entry of a remote store depends on (deleted by
 * `clear()`, and when the invalidation queue overflows); `n:{name}:` is a child namespace (names hold no `:`,
 * so spaces never meet). Keys longer than the store allows are hashed.
 *
 * @module
 */

import type { StoreCapabilities } from "../store/store.ts";
import { fitKey, looksHashed } from "../keys/template.ts";

const SPACE = { entry: "e:", tag: "t:", lock: "l:", generation: "g", child: "n:" } as const;

/** Deepest nesting of namespaces under a cache (`cache.namespace("a").namespace("b")` is 2). */
export const MAX_NAMESPACE_DEPTH = 8;
const NAMESPACE_NAME = /^[A-Za-z0-9_.@-]+$/;

/** The key spaces of one namespace. */
export class KeySpace {
  /** `{prefix}:{version}:`, then `n:{name}:` for each namespace step. */
  readonly namespace: string;
  /**
   * The namespace of the cache at the top of this one's chain (this one's, unless it is a child namespace):
   * entries name their dependencies relative to it, so a child's entry can depend on its parents' generations.
   */
  readonly root: string;
  /** How many `namespace()` steps below its cache this one is (0 for a cache itself). */
  readonly depth: number;
  /** This namespace's generation key (remote stores; none for in-process stores): what `clear()` deletes. */
  readonly generationKey?: string;
  /**
   * The generation keys every entry of this namespace depends on, read with it: its parents' (outermost first)
   * and its own. Empty for in-process stores.
   */
  readonly generationKeys: readonly string[];
  readonly #maxKeyBytes: number;

  /** The spaces of a cache: `{prefix}:{version}:` (checked by the caller). */
  constructor(
    capabilities: Pick<StoreCapabilities, "inProcess" | "maxKeyBytes">,
    prefix: string,
    version: string,
  );
  /** The spaces of the child namespace `name` of `parent`. */
  constructor(
    capabilities: Pick<StoreCapabilities, "inProcess" | "maxKeyBytes">,
    parent: KeySpace,
    name: string,
  );
  constructor(
    capabilities: Pick<StoreCapabilities, "inProcess" | "maxKeyBytes">,
    prefixOrParent: string | KeySpace,
    versionOrName: string,
  ) {
    const parent = typeof prefixOrParent === "string" ? undefined : prefixOrParent;
    this.namespace = parent
      ? parent.namespace + SPACE.child + childName(parent, versionOrName) + ":"
      : `${prefixOrParent}:${versionOrName}:`;
    this.root = parent ? parent.root : this.namespace;
    this.depth = parent ? parent.depth + 1 : 0;
    // An in-process store cannot be unreachable: its invalidations never queue, so it needs no generation.
    if (!capabilities.inProcess) this.generationKey = this.namespace + SPACE.generation;
    this.generationKeys = this.generationKey === undefined
      ? []
      : [...(parent?.generationKeys ?? []), this.generationKey];
    this.#maxKeyBytes = Math.min(capabilities.maxKeyBytes, 1024);
  }

  /** The stored key of an entry, hashed when it is longer than the store allows. */
  entryKey(logical: string): string | Promise<string> {
    return this.#fit(this.namespace + SPACE.entry + logical);
  }

  /** The stored key of a tag's version. */
  tagKey(tag: string): string | Promise<string> {
    return this.#fit(this.namespace + SPACE.tag + tag);
  }

  /** The stored key of a lock on an entry key. */
  lockKey(entryKey: string): string {
    return this.namespace + SPACE.lock + entryKey.slice(this.namespace.length + SPACE.entry.length);
  }

  /** The logical key of a stored entry key (what `keys()` lists). */
  logicalKey(entryKey: string): string {
    return entryKey.slice(this.namespace.length + SPACE.entry.length);
  }

  /**
   * The path `keys()` lists the stored `key` under (`users/admins/7` for an entry of the namespace
   * `users/admins` under this one), or `undefined` when the key is not an entry (a tag version, a lock, a
   * generation).
   */
  listedKey(key: string): string | undefined {
    let at = this.namespace.length, path = "";
    while (key.startsWith(SPACE.child, at)) {
      const end = key.indexOf(":", at + SPACE.child.length);
      if (end < 0) return undefined;
      path += key.slice(at + SPACE.child.length, end) + "/";
      at = end + 1;
    }
    return key.startsWith(SPACE.entry, at) ? path + key.slice(at + SPACE.entry.length) : undefined;
  }

  /** Prefix of every entry key, for listings. */
  get entryPrefix(): string {
    return this.namespace + SPACE.entry;
  }

  /** Where this cache's invalidations are pushed (a child namespace's too: the keys say whose they are). */
  get invalidationChannel(): string {
    return this.root + "invalidations";
  }

  /**
   * `true` for a lock key of this namespace or of one under it: child namespaces (`n:{name}:`, names without
   * `:`) are stepped over, then the space says what the key is.
   */
  isLockKey(key: string): boolean {
    let at = this.namespace.length;
    while (key.startsWith(SPACE.child, at)) at = key.indexOf(":", at + SPACE.child.length) + 1;
    return key.startsWith(SPACE.lock, at);
  }

  #fit(key: string): string | Promise<string> {
    return key.length * 3 <= this.#maxKeyBytes && !looksHashed(key) ? key : fitKey(key, this.#maxKeyBytes);
  }
}

/**
 * `name`, checked as the name of a namespace under `parent`.
 *
 * @throws {TypeError} a name that is not a non-empty string of letters, digits and `_.@-`.
 * @throws {RangeError} nesting deeper than {@linkcode MAX_NAMESPACE_DEPTH}.
 */
function childName(parent: KeySpace, name: string): string {
  if (typeof name !== "string" || !NAMESPACE_NAME.test(name)) {
    throw new TypeError(
      `Cannot make a namespace: the name must be a non-empty string of letters, digits and _.@- (no ":"), current value is ${
        JSON.stringify(name)
      }`,
    );
  }
  if (parent.depth >= MAX_NAMESPACE_DEPTH) {
    throw new RangeError(
      `Cannot make namespace ${JSON.stringify(name)} under ${parent.namespace}: it would nest ${
        parent.depth + 1
      } levels deep, and at most ${MAX_NAMESPACE_DEPTH} are allowed`,
    );
  }
  return name;
}
