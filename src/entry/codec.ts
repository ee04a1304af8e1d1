/**
 * Value serialization. Plain JSON data (the common case) is stored as JSON, so a hit costs one `JSON.parse`;
 * anything JSON would change (Dates, Maps, Sets, BigInt, typed arrays, `undefined`, `NaN`, `-0`, shared or
 * cyclic references, null-prototype objects) goes through `devalue`, which keeps it. What neither keeps (an
 * array's named properties, a subclass of a built-in, a built-in's own properties) is refused with a
 * `TypeError`, never stored as something else. A decoded tree may
 * be kept for later reads; each caller gets its own copy (or, with `zeroCopy`, one frozen tree), so no caller
 * can change another's value.
 *
 * @module
 */

import { stringify, unflatten } from "devalue";

/** A serialized value: its text and how to read it back. */
export interface Encoded {
  readonly text: string;
  /** `true`: plain JSON; `false`: devalue's flattened form (also JSON text). */
  readonly json: boolean;
}

/**
 * Class-aware types for the serializer, by name: `reduce` turns a value of the type into plain data (and
 * returns `undefined` or `false` for any other value), `revive` turns that data back into the value.
 */
export type ValueTypes = Readonly<
  Record<string, readonly [reduce: (value: unknown) => unknown, revive: (data: never) => unknown]>
>;

/** One cache's serializer: JSON for plain data, devalue (with the cache's registered types) for the rest. */
export class Codec {
  readonly #reducers: Record<string, (value: unknown) => unknown> = {};
  readonly #revivers: Record<string, (data: unknown) => unknown> = {};

  /** @throws {TypeError} a type that is not a `[reduce, revive]` pair of functions. */
  constructor(types: ValueTypes = {}) {
    if (typeof types !== "object" || types === null) {
      throw new TypeError(`Cannot register value types: expected an object of [reduce, revive] pairs`);
    }
    for (const [name, pair] of Object.entries(types)) {
      if (!Array.isArray(pair) || typeof pair[0] !== "function" || typeof pair[1] !== "function") {
        throw new TypeError(
          `Cannot register value type ${JSON.stringify(name)}: expected [reduce, revive] functions`,
        );
      }
      this.#reducers[name] = pair[0];
      this.#revivers[name] = pair[1] as (data: unknown) => unknown;
    }
    // Last, so that a registered type may take a subclass (or a built-in with properties) first.
    this.#reducers["svc:kept"] = refuseChanged;
  }

  /** Serializes a value; throws `TypeError` when it holds something that cannot be stored (a function, a class). */
  serialize(value: unknown, what: string): Encoded {
    try {
      if (isPlainJson(value, new Set(), 0)) return { text: JSON.stringify(value), json: true };
      return { text: stringify(value, this.#reducers), json: false };
    } catch (error) {
      throw new TypeError(
        `Cannot cache the result of ${what}: ${
          (error as Error).message
        } (plain data, Date, Map, Set, BigInt, typed arrays and registered types can be cached)`,
        { cause: error },
      );
    }
  }

  /**
   * Turns parsed JSON back into the value: through devalue when it needs it; plain JSON as is, or as a fresh
   * copy when `shared` (the parsed tree is kept for other readers).
   */
  revive(parsed: unknown, json: boolean, shared = false): unknown {
    if (!json) return unflatten(parsed as number | unknown[], this.#revivers);
    return shared ? cloneJson(parsed) : parsed;
  }
}

/**
 * A deep copy of a JSON tree (objects, arrays, primitives): several times cheaper than re-parsing it. Each
 * level is copied whole by spread or `slice` (one engine builtin), then only its object children are replaced
 * by their copies. A `__proto__` key stays an own data property: spread defines it, and assigning to an own
 * data property never reaches the prototype setter.
 */
export function cloneJson(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    const copy = value.slice();
    for (let i = 0; i < copy.length; i++) {
      const child = copy[i];
      if (typeof child === "object" && child !== null) copy[i] = cloneJson(child);
    }
    return copy;
  }
  const copy: Record<string, unknown> = { ...value };
  for (const key in copy) {
    const child = copy[key];
    if (typeof child === "object" && child !== null) copy[key] = cloneJson(child);
  }
  return copy;
}

/** An error for a value that no serializer here keeps exactly. */
class LossyValue extends Error {}

/**
 * `true` when an array has own properties besides its `present` elements (named or symbol-keyed ones), which
 * JSON and devalue would drop.
 */
function hasNamedProperties(array: readonly unknown[], present: number): boolean {
  return Object.keys(array).length !== present || Object.getOwnPropertySymbols(array).length > 0;
}

/** The tags devalue rebuilds as built-ins (others it keeps as plain objects, or refuses). */
const DEVALUE_TAGS = new Set(
  ("Number String Boolean BigInt Date URL URLSearchParams RegExp Array Set Map DataView ArrayBuffer " +
    "Int8Array Uint8Array Uint8ClampedArray Int16Array Uint16Array Float16Array Int32Array Uint32Array " +
    "Float32Array Float64Array BigInt64Array BigUint64Array").split(" "),
);
/** Built-ins devalue rebuilds from their contents alone, whose own symbol-keyed properties are checked too. */
const REBUILT = new Set(["Date", "Map", "Set", "RegExp", "ArrayBuffer", "DataView"]);

/**
 * devalue's last reducer: it meets every value no registered type took, and refuses one devalue would bring
 * back as something else. devalue knows a built-in type by its tag, so a subclass would come back as the
 * built-in (a hit without the miss's methods), and a built-in's own properties (an array's named ones) would
 * be dropped. Last, so that a registered type may take such a value first.
 */
function refuseChanged(value: unknown): undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const tag = Object.prototype.toString.call(value).slice(8, -1);
  const temporal = tag.startsWith("Temporal.");
  if (!DEVALUE_TAGS.has(tag) && !temporal) return undefined; // devalue keeps plain objects, refuses the rest
  const scope = (temporal ? (globalThis as { Temporal?: object }).Temporal : globalThis) as
    | Record<string, { prototype?: object } | undefined>
    | undefined;
  const builtin = scope?.[temporal ? tag.slice(9) : tag]?.prototype;
  if (builtin && !isBuiltin(value, tag, builtin)) throw subclassOf(tag, value);
  if (Array.isArray(value)) {
    let present = 0;
    for (let i = 0; i < value.length; i++) if (i in value) present++;
    if (hasNamedProperties(value, present)) throw lossyArray();
  } else if (ownFields(value, tag) || (tag === "RegExp" && (value as RegExp).lastIndex !== 0)) {
    throw new LossyValue(
      `${article(tag)} with properties of its own cannot be stored exactly (they would be dropped)`,
    );
  }
  return undefined;
}

/**
 * `true` when a built-in has fields of its own: enumerable string-keyed ones (not an indexed type's elements,
 * which a for-in would list one by one), and on the types devalue rebuilds from their contents, symbol-keyed
 * ones too (Deno's URL keeps its own under symbols).
 */
function ownFields(value: object, tag: string): boolean {
  if (ArrayBuffer.isView(value) && tag !== "DataView" || tag === "String") return false;
  for (const key in value) if (Object.hasOwn(value, key)) return true;
  return REBUILT.has(tag) && Object.getOwnPropertySymbols(value).length > 0;
}

/**
 * `true` when `value` is an instance of the built-in `tag` itself, of this realm (`builtin` its prototype) or of
 * another (an edge sandbox's host hands out its own arrays): not of a subclass, which has a name of its own.
 */
function isBuiltin(value: object, tag: string, builtin: object): boolean {
  const proto = Object.getPrototypeOf(value);
  if (proto === builtin) return true;
  // Another realm's by its constructor's name: only when this realm's is not in its chain (a subclass).
  return !Object.prototype.isPrototypeOf.call(builtin, value) &&
    proto?.constructor?.name === tag.replace(/^Temporal\./, "");
}

function subclassOf(tag: string, value: object): LossyValue {
  const kind = Object.getPrototypeOf(value)?.constructor?.name;
  return new LossyValue(
    `${
      kind ? article(kind) : "an object"
    } (a subclass of ${tag}) cannot be stored exactly: it would come back as ${
      article(tag)
    } (register a type for it, or store ${article(tag)} itself)`,
  );
}

/** `a Map`, `an Int8Array`, `a URL`, `a Uint8Array`. */
function article(name: string): string {
  return `${/^([AEIO]|U(?![A-Z0-9]|int))/.test(name) ? "an" : "a"} ${name}`;
}

function lossyArray(): LossyValue {
  return new LossyValue("an array with named properties cannot be stored exactly (they would be dropped)");
}

/** Deepest nesting checked for the JSON fast path; deeper values use devalue. */
const MAX_DEPTH = 64;

/** `true` when `JSON.parse(JSON.stringify(value))` gives back an equal value with the same structure. */
function isPlainJson(value: unknown, seen: Set<object>, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object": {
      if (value === null) return true;
      if (depth > MAX_DEPTH || seen.has(value)) return false;
      seen.add(value);
      if (Array.isArray(value)) {
        if (!isBuiltin(value, "Array", Array.prototype)) return false; // devalue's reducer refuses it
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !isPlainJson(value[i], seen, depth + 1)) return false;
        }
        if (hasNamedProperties(value, value.length)) return false; // devalue's reducers decide
        return true;
      }
      // A null prototype would come back as Object's: devalue keeps it.
      if (Object.getPrototypeOf(value) !== Object.prototype || "toJSON" in value) return false;
      for (const key in value) {
        if (!isPlainJson((value as Record<string, unknown>)[key], seen, depth + 1)) return false;
      }
      return Object.getOwnPropertySymbols(value).length === 0;
    }
    default:
      return false;
  }
}
