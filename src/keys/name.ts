/**
 * The one rule for what a key or a tag may be: a non-empty, well-formed string. An empty name would render the
 * same key as its namespace's own; a lone surrogate has no UTF-8 form, so a store would change it.
 *
 * @example
 * ```ts
 * import { isName } from "./name.ts";
 * console.log(isName("user:1"), isName(""), isName("\ud800")); // true false false
 * ```
 *
 * @module
 */

/** `true` for a valid key or tag: a non-empty, well-formed string. */
export function isName(value: unknown): value is string {
  return typeof value === "string" && value !== "" && value.isWellFormed();
}

/** `true` for an array of valid keys or tags (see {@linkcode isName}). */
export function isNameList(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every(isName);
}
