/**
 * Tag options: templates rendered with the key renderer, a function of the argument, or both (resources add
 * their own tag to the user's). Tags from a function are used verbatim, and so is a string rendered into a
 * template, so that `"user:{email}"` and `` (a) => [`user:${a.email}`] `` name the same tag.
 *
 * @module
 */

import { type CompiledTemplate, compileTemplate, renderTemplate } from "./template.ts";
import { isNameList } from "./name.ts";

/** Tags of a call: templates such as `"user:{userId}"`, or a function of the argument. */
export type TagsOption<A> = readonly string[] | ((arg: A) => readonly string[]);

/** A tags option compiled once, when the function is wrapped. */
export interface CompiledTags<A> {
  readonly templates: readonly CompiledTemplate[];
  readonly fn?: (arg: A) => readonly string[];
}

/** Compiles a tags option, adding `extra` templates (a resource's own tag) in front. */
export function compileTags<A>(
  option: TagsOption<A> | undefined,
  what: string,
  extra: string[] = [],
): CompiledTags<A> {
  if (option !== undefined && typeof option !== "function" && !Array.isArray(option)) {
    throw new TypeError(
      `Cannot cache ${what}: tags must be an array of templates or a function of the argument`,
    );
  }
  const templates = [...extra, ...(Array.isArray(option) ? option : [])].map((t) => compileTemplate(t, what));
  return { templates, fn: typeof option === "function" ? option : undefined };
}

/** Where a skipped tag is reported: the cache's once-per-id warning. */
export interface TagWarnings {
  warnOnce(id: string, message: string): void;
}

/**
 * Renders the tags of one call: its templates, then what the tags function returns (`fnTags`, when the caller
 * called it already). For a read, a template whose property the call did not pass is skipped with a warning,
 * once per function and template (the seed's "literal tag" warning, made safe: the entry is merely tagged
 * less). For a write (`strict`) it is the `TypeError` itself: an invalidation that silently skipped a tag would
 * leave readers stale, so the write must not run.
 */
export function renderTags<A>(
  tags: CompiledTags<A>,
  arg: A,
  what: string,
  cache: TagWarnings,
  strict = false,
  fnTags?: readonly string[],
): string[] {
  const out: string[] = [];
  for (const template of tags.templates) {
    try {
      out.push(renderTemplate(template, arg, what, true));
    } catch (error) {
      if (!(error instanceof TypeError) || strict) throw error;
      cache.warnOnce(
        `tag:${what}:${template.source}`,
        `${error.message}; this tag is skipped, so it neither tags nor invalidates this call`,
      );
    }
  }
  if (tags.fn) out.push(...(fnTags ?? functionTags(tags.fn, arg, what)));
  return out;
}

/** What a tags function returns for `arg`, checked (see {@linkcode checkFunctionTags}). */
export function functionTags<A>(fn: (arg: A) => readonly string[], arg: A, what: string): readonly string[] {
  return checkFunctionTags(fn(arg), what);
}

/** What a tags function returned, when it is an array of non-empty, well-formed strings; else a `TypeError`. */
export function checkFunctionTags(tags: unknown, what: string): readonly string[] {
  if (!isNameList(tags)) {
    throw new TypeError(
      `Cannot cache ${what}: the tags function must return an array of non-empty, well-formed strings`,
    );
  }
  return tags;
}
