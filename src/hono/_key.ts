/**
 * What a request is cached under: its key (a template, a function, or the target URI) and its tags, rendered
 * from route params and query; and the check of `cacheResponse`'s options that take several forms.
 *
 * @module
 */

import { type CompiledTemplate, renderTemplate, renderValue } from "../keys/template.ts";
import { isName } from "../keys/name.ts";
import type { HonoContext } from "./types.ts";

/** The target URI (RFC 9111 §2): host, path and sorted query, so that two hosts never share a response. */
export function defaultKey(c: HonoContext, name: string): string {
  const url = new URL(c.req.url);
  const query = [...url.searchParams].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
    .map(([k, v]) => `${renderValue(k, name)}=${renderValue(v, name)}`).join("&");
  return `${renderValue(url.host, name)}${renderValue(url.pathname, name)}?${query}`;
}

/**
 * Tags rendered from the request; a template naming a parameter the request lacks is skipped with one warning
 * (as `cacheRead` skips one naming a property its argument lacks): the response is still cached, under the
 * tags that could be rendered.
 */
export function renderedTags(
  templates: readonly CompiledTemplate[],
  fields: Record<string, string>,
  name: string,
  diagnostics: () => { warnOnce(key: string, message: string): void },
): string[] {
  const tags: string[] = [];
  for (const template of templates) {
    try {
      tags.push(renderTemplate(template, fields, name, true));
    } catch (error) {
      diagnostics().warnOnce(
        `tag:${name}:${template.source}`,
        `${(error as Error).message}; the tag is skipped`,
      );
    }
  }
  return tags;
}

/** What a key function returned, when it is a valid key (see `isName`); else a `TypeError`. */
export function checkedKey(key: unknown, name: string): string {
  if (isName(key)) return key;
  throw new TypeError(
    `Cannot cache ${name}: the key function must return a non-empty, well-formed string, current value is ${
      typeof key === "string" ? JSON.stringify(key) : String(key)
    }`,
  );
}

/** `TypeError` unless `value` is absent or of one of the `forms` an option takes. */
export function checkForm(
  value: unknown,
  forms: readonly ("string" | "array" | "function")[],
  option: string,
  name: string,
) {
  if (value === undefined) return;
  const form = Array.isArray(value) ? "array" : typeof value;
  if ((forms as readonly string[]).includes(form)) return;
  const wanted = forms.map((f) => f === "array" ? "an array" : `a ${f}`).join(" or ");
  throw new TypeError(
    `Cannot cache ${name}: ${option} must be ${wanted}, current value is ${
      typeof value === "string" ? JSON.stringify(value) : String(value)
    }`,
  );
}
