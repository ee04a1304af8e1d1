/**
 * The `schema` read option: values checked by any Standard Schema v1 validator (zod, valibot, arktype …: an
 * object with `~standard.validate`). The interface is written here, so nothing is imported for it.
 *
 * @module
 */

import { NOTHING } from "../entry/value.ts";
import type { LoadResult } from "../load/flight.ts";
import { isNegativeCacheResult } from "../entry/negative.ts";
import { brand, isInstance } from "../base/errors.ts";

const SCHEMA_ERROR: unique symbol = Symbol.for("@svc-infra/cache/SchemaError");

/** One problem a validator found. */
export interface SchemaIssue {
  /** What is wrong. */
  readonly message: string;
  /** Where: property keys, or objects holding one. */
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;
}

/** What `~standard.validate` returns: the (possibly transformed) value, or the issues. */
export type SchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<SchemaIssue> };

/**
 * A Standard Schema v1 validator (https://standardschema.dev), as zod, valibot and arktype schemas are.
 *
 * @example
 * ```ts
 * import type { StandardSchemaV1 } from "@svc-infra/cache";
 * const isName: StandardSchemaV1<unknown, string> = {
 *   "~standard": {
 *     version: 1,
 *     vendor: "handwritten",
 *     validate: (value) => typeof value === "string" ? { value } : { issues: [{ message: "not a string" }] },
 *   },
 * };
 * ```
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The standard's properties. */
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => SchemaResult<Output> | Promise<SchemaResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** `TypeError` unless `schema` has a `~standard.validate` function. */
export function checkSchema(schema: unknown, what: string): void {
  const standard = (schema as StandardSchemaV1 | null)?.["~standard"];
  if (typeof standard?.validate !== "function") {
    throw new TypeError(
      `Cannot cache ${what}: schema must be a Standard Schema (an object with ~standard.validate, as zod, valibot and arktype schemas are), current value is ${
        schema === null ? "null" : typeof schema
      }`,
    );
  }
}

/** The issues as one line: `path: message; …` (at most 5). */
export function describeIssues(issues: ReadonlyArray<SchemaIssue>): string {
  const lines = issues.slice(0, 5).map((issue) => {
    const path = issue.path?.map((p) => String(typeof p === "object" ? p.key : p)).join(".");
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  return lines.join("; ") + (issues.length > 5 ? `; and ${issues.length - 5} more` : "");
}

/**
 * A loaded value that failed its schema: not cached, thrown to the caller (a `TypeError`, with the issues).
 *
 * @example
 * ```ts
 * import { createCache, SchemaError, type StandardSchemaV1 } from "@svc-infra/cache";
 * const isNumber: StandardSchemaV1<unknown, number> = {
 *   "~standard": {
 *     version: 1,
 *     vendor: "handwritten",
 *     validate: (value) => typeof value === "number" ? { value } : { issues: [{ message: "not a number" }] },
 *   },
 * };
 * const cache = await createCache();
 * try {
 *   await cache.getOrSet("n", () => "one", { schema: isNumber });
 * } catch (error) {
 *   if (error instanceof SchemaError) console.log(error.issues); // [{ message: "not a number" }]
 * }
 * ```
 */
export class SchemaError extends TypeError {
  /** `true` for a `SchemaError` of any copy of the library (its ESM and CommonJS builds). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isInstance(this, SchemaError, SCHEMA_ERROR, value);
  }
  /** What the validator found. */
  readonly issues: ReadonlyArray<SchemaIssue>;

  /** @internal Thrown by the cache for `what`'s loaded value. */
  constructor(what: string, issues: ReadonlyArray<SchemaIssue>) {
    super(`Cannot cache the result of ${what}: it fails its schema (${describeIssues(issues)})`);
    this.name = "SchemaError";
    this.issues = issues;
  }
}
brand(SchemaError, SCHEMA_ERROR);

/** What the validator says of a stored value; a validator that throws rejects it. */
export async function validateStored(
  schema: StandardSchemaV1,
  value: unknown,
): Promise<SchemaResult<unknown>> {
  try {
    return await schema["~standard"].validate(value);
  } catch (error) {
    return { issues: [{ message: `the validator threw ${(error as Error)?.message ?? error}` }] };
  }
}

/**
 * The schema's output for a stored value when the validator answers at once and accepts it; `NOTHING` when it
 * rejects it or answers later (the caller then takes the asynchronous path, which validates and counts).
 */
export function validNow(schema: StandardSchemaV1, value: unknown): unknown {
  let result;
  try {
    result = schema["~standard"].validate(value);
  } catch {
    return NOTHING;
  }
  if (typeof (result as Promise<unknown>).then === "function") {
    (result as Promise<unknown>).catch(() => {}); // validated again on the asynchronous path
    return NOTHING;
  }
  return (result as SchemaResult<unknown>).issues ? NOTHING : (result as { value: unknown }).value;
}

/** The schema's output for a loaded value; a {@linkcode SchemaError} (not cached) when it fails. */
export async function validateLoaded(
  schema: StandardSchemaV1,
  value: unknown,
  what: string,
): Promise<unknown> {
  const result = await schema["~standard"].validate(value);
  if (result.issues) throw new SchemaError(what, result.issues);
  return result.value;
}

/** Where a cache counts and reports stored values its schema rejects. */
export interface SchemaReporting {
  readonly metrics: { count(name: "cache.schema.rejected", what: string): void };
  readonly diagnostics: { warnEvery(id: string, message: string): void };
}

/**
 * A stored value checked by the read's `schema`: its output, or `NOTHING` when it fails (a miss, loaded afresh:
 * counted as `cache.schema.rejected` and logged at most once per error-log interval).
 */
export async function validStored(
  cache: SchemaReporting,
  schema: StandardSchemaV1,
  value: unknown,
  what: string,
  key: string,
): Promise<unknown> {
  const result = await validateStored(schema, value);
  if (!result.issues) return result.value;
  cache.metrics.count("cache.schema.rejected", what);
  cache.diagnostics.warnEvery(
    `schema:${what}`,
    `a stored value of ${what} (key ${key}) fails its schema (${
      describeIssues(result.issues)
    }): treated as a miss and loaded afresh`,
  );
  return NOTHING;
}

/** A joining caller's copy of a load's result: the schema's output, as the loader's caller got. */
export function joinedCopy(result: LoadResult, schema: StandardSchemaV1 | undefined, what: string): unknown {
  const copy = result.copy();
  return schema && !isNegativeCacheResult(copy) ? validateLoaded(schema, copy, what) : copy;
}
