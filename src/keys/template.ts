/**
 * One renderer for keys, tags and invalidation: `"user:{userId}:profile"` + `{ userId: 1 }` → `user:1:profile`.
 *
 * In a key, rendered values are escaped so that no argument can forge a separator: every character outside
 * `[A-Za-z0-9_.@-]` is percent-encoded, so `userId: "1:profile"` renders `1%3Aprofile`. Structural characters
 * used for arrays, objects and markers (`[ ] { } , = !`) can therefore never come from a string, which makes
 * rendering injective. On purpose, as the seed's `str.format` did, a number (or bigint) and its decimal string
 * render alike, and so do a boolean and `"true"`/`"false"`. What would render lossily is given its own marker
 * (an array's hole `!h`, an empty string in an array or set `!e`, a null-prototype object `!o{…}`) or refused
 * (symbol keys, an array's named properties, nesting deeper than {@linkcode MAX_KEY_DEPTH}). In a tag, a
 * string property is taken as it is (see {@linkcode renderTemplate}).
 *
 * @module
 */

/** The property names a template mentions: `Placeholders<"a:{x}:{y}">` is `"x" | "y"`. */
export type Placeholders<S extends string> = S extends `${string}{${infer P}}${infer Rest}`
  ? P | Placeholders<Rest>
  : never;

/** The argument shape a template needs: an object with every placeholder, or anything when there are none. */
export type TemplateArg<S extends string> = [Placeholders<S>] extends [never] ? unknown
  : { readonly [P in Placeholders<S>]: unknown };

/** A template split into its constant text and the properties between them. */
export interface CompiledTemplate {
  readonly source: string;
  /** `texts.length === fields.length + 1`. */
  readonly texts: readonly string[];
  readonly fields: readonly string[];
}

const PLACEHOLDER = /\{([^{}]*)\}/g;
const FIELD_NAME = /^[A-Za-z_$][\w$]*$/;

/** Parses a template once, when a function is wrapped. Throws `TypeError` on a malformed template. */
export function compileTemplate(source: string, what: string): CompiledTemplate {
  if (typeof source !== "string" || source === "") {
    throw new TypeError(`Cannot cache ${what}: a key or tag template must be a non-empty string`);
  }
  const texts: string[] = [];
  const fields: string[] = [];
  let last = 0;
  for (const match of source.matchAll(PLACEHOLDER)) {
    const name = match[1];
    if (!FIELD_NAME.test(name)) {
      throw new TypeError(
        `Cannot cache ${what}: placeholder "{${name}}" in "${source}" is not a property name`,
      );
    }
    texts.push(source.slice(last, match.index));
    fields.push(name);
    last = match.index + match[0].length;
  }
  texts.push(source.slice(last));
  if (texts.some((t) => t.includes("{") || t.includes("}"))) {
    throw new TypeError(`Cannot cache ${what}: unbalanced brace in template "${source}"`);
  }
  return { source, texts, fields };
}

/**
 * Renders a compiled template. Throws `TypeError` naming the function and the property when the argument
 * is not an object or lacks a placeholder's property.
 *
 * A tag (`asTag`) takes a string property as it is, unescaped, so that a tag built by hand
 * (`invalidateTags(\`user:${email}\`)`, a tags function) names the same tag as the template for any string.
 * A tag needs no injectivity: two arguments sharing a tag are only invalidated together, never served each
 * other's data. A key does, so it escapes every string.
 */
export function renderTemplate(
  template: CompiledTemplate,
  arg: unknown,
  what: string,
  asTag = false,
): string {
  const { texts, fields } = template;
  if (fields.length === 0) return texts[0];
  if (typeof arg !== "object" || arg === null) {
    throw new TypeError(
      `Cannot render "${template.source}"${
        owner(template, what)
      }: expected an object argument, current value is ${describe(arg)}`,
    );
  }
  let out = texts[0];
  for (let i = 0; i < fields.length; i++) {
    const value = (arg as Record<string, unknown>)[fields[i]];
    if (value === undefined) {
      throw new TypeError(
        `Cannot render "${template.source}"${owner(template, what)}: the argument has no property "${
          fields[i]
        }"`,
      );
    }
    // A lone surrogate is left to renderValue, whose TypeError names it.
    out += (asTag && typeof value === "string" && value.isWellFormed()
      ? value
      : renderValue(value, what, `property "${fields[i]}"`)) + texts[i + 1];
  }
  return out;
}

/**
 * ` for getUser`, naming the cached function; for an unnamed one, known by this very template (the message
 * would say it twice), a hint instead.
 */
function owner(template: CompiledTemplate, what: string): string {
  return what === template.source
    ? " (an unnamed function: pass { name } to see its name here)"
    : ` for ${what}`;
}

/** The deepest nesting of an argument rendered into a key; deeper is a `TypeError`, not a stack overflow. */
export const MAX_KEY_DEPTH = 100;

/**
 * Renders one argument value canonically (see the module doc). Plain objects, arrays, `Date`, `Map`, `Set`,
 * `URL` and `RegExp` render structurally, each with its own marker; anything else (a class instance, a typed
 * array, a function, a symbol) and a cyclic value are a `TypeError` naming the function and the property, since
 * rendering them as `{}` would give different arguments one entry. `path` names the property for errors.
 */
export function renderValue(value: unknown, what: string, path = "the argument"): string {
  return render(value, what, path, new Set());
}

function render(value: unknown, what: string, path: string, open: Set<object>): string {
  switch (typeof value) {
    case "string":
      return escape(value, what);
    case "number":
    case "bigint":
      return String(value);
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
      return "!u";
    case "object": {
      if (value === null) return "!n";
      if (open.has(value)) throw new TypeError(`Cannot render a key for ${what}: ${path} is cyclic`);
      // `open` holds the objects above this one: its size is the depth.
      if (open.size >= MAX_KEY_DEPTH) {
        throw new TypeError(
          `Cannot render a key for ${what}: ${path} is nested deeper than ${MAX_KEY_DEPTH} levels (the limit for arguments rendered into keys; use a key function)`,
        );
      }
      open.add(value);
      try {
        return renderObject(value, what, path, open);
      } finally {
        open.delete(value);
      }
    }
    default:
      throw new TypeError(
        `Cannot render a key for ${what}: ${path} is a ${typeof value}, which cannot be part of a key`,
      );
  }
}

function renderObject(value: object, what: string, path: string, open: Set<object>): string {
  if (Array.isArray(value)) {
    let out = "", present = 0;
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      if (!(i in value)) out += "!h";
      else present++, out += element(value[i], what, `${path}[${i}]`, open);
    }
    if (Object.keys(value).length !== present || Object.getOwnPropertySymbols(value).length > 0) {
      throw new TypeError(
        `Cannot render a key for ${what}: ${path} is an array with named properties, which a key cannot hold; pass an object`,
      );
    }
    return `[${out}]`;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) {
      throw new TypeError(`Cannot render a key for ${what}: ${path} is an invalid Date`);
    }
    return `!d${escape(value.toISOString(), what)}`;
  }
  if (value instanceof URL) return `!url${escape(value.href, what)}`;
  if (value instanceof RegExp) return `!re${escape(value.source, what)}/${value.flags}`;
  if (value instanceof Map) {
    const entries = [...value].map(([k, v]) =>
      `${render(k, what, `a key of ${path}`, open)}=${render(v, what, `${path}.get(…)`, open)}`
    );
    return `!m{${entries.sort().join(",")}}`;
  }
  if (value instanceof Set) {
    return `!s[${[...value].map((v) => element(v, what, `an element of ${path}`, open)).sort().join(",")}]`;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const kind = proto?.constructor?.name || "non-plain object";
    throw new TypeError(
      `Cannot render a key for ${what}: ${path} is a ${kind}, which has no canonical key form; pass plain data (or use a key function)`,
    );
  }
  if (Object.getOwnPropertySymbols(value).length > 0) {
    throw new TypeError(
      `Cannot render a key for ${what}: ${path} has symbol keys, which cannot be part of a key`,
    );
  }
  // A loop, not map and join: this runs on every call with an object argument (its cost pays for the checks).
  const keys = Object.keys(value).sort();
  let out = proto === null ? "!o{" : "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (i > 0) out += ",";
    out += `${escape(k, what)}=${render((value as Record<string, unknown>)[k], what, `${path}.${k}`, open)}`;
  }
  return out + "}";
}

/** An element of an array or a set: an empty string is `!e`, or `[""]` would render as `[]`. */
function element(value: unknown, what: string, path: string, open: Set<object>): string {
  return value === "" ? "!e" : render(value, what, path, open);
}

const SAFE = /^[A-Za-z0-9_.@-]*$/;

function escape(text: string, what: string): string {
  if (SAFE.test(text)) return text;
  if (!text.isWellFormed()) {
    throw new TypeError(`Cannot render a key for ${what}: the string contains a lone surrogate`);
  }
  return encodeURIComponent(text).replace(
    /[!'()*~]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function describe(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}

/** Bytes of `text` in UTF-8, without allocating. */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) i++, bytes += 2;
    else bytes += 2;
  }
  return bytes;
}

/** Characters kept readable in front of a hashed key, so listings still show what it was. */
const HASHED_HEAD = 48;
/** `#` and the SHA-256 in hex that end a hashed key. */
const HASHED_TAIL = 65;
const HASH_MARK = 0x23; // "#"

/**
 * `true` when `key` has the shape of a hashed key: a `#` 65 characters from its end. Such a key is hashed
 * even when short, so that the stored keys of hashed and literal keys are disjoint: a literal key cannot be
 * written as another key's hashed form (`"<head>#<sha256>"`) to read or overwrite its entry. One character
 * compared, so the check costs nothing on the read path.
 */
export function looksHashed(key: string): boolean {
  return key.charCodeAt(key.length - HASHED_TAIL) === HASH_MARK;
}

/**
 * Returns `key`, or when it is longer than `maxBytes` or {@linkcode looksHashed}, a readable head plus `#` and
 * its SHA-256 (Web Crypto). Every hashed key looks hashed and no literal one does, so they never meet.
 */
export async function fitKey(key: string, maxBytes: number): Promise<string> {
  if ((key.length * 3 <= maxBytes || utf8Length(key) <= maxBytes) && !looksHashed(key)) return key;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  let head = key.slice(0, HASHED_HEAD);
  if (!head.isWellFormed()) head = head.slice(0, -1);
  return `${head}#${hex}`;
}
