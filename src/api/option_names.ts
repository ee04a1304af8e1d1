/**
 * Unknown option names are a typo until proven otherwise: they are a `TypeError` that names the closest known
 * option, instead of being ignored (`initCache({ urll })` silently meant "in memory", `cacheWrite({ tagz })`
 * invalidated nothing). Options that mean the same in every options object (flags, `name`, `signal`,
 * `logger`) are checked for their type here too: `force: "false"` would force a reload, `zeroCopy: "no"` would
 * turn it on.
 *
 * @module
 */

const flag = [(value: unknown) => typeof value === "boolean", "true or false"] as const;

/** Option name → its test and what it expects, for the names that mean the same wherever they appear. */
const KINDS: Readonly<Record<string, readonly [test: (value: unknown) => boolean, expected: string]>> = {
  force: flag,
  zeroCopy: flag,
  smoothExpiry: flag,
  soft: flag,
  debug: flag,
  metrics: flag,
  closeClient: flag,
  closeKv: flag,
  push: flag,
  l1: flag, // a read's (a cache's l1 is its feature, twoLevel(), checked where the cache opens)
  name: [(value) => typeof value === "string" && value !== "", "a non-empty string"],
  onResult: [(value) => typeof value === "function", "a function"],
  signal: [
    (value) =>
      typeof (value as AbortSignal)?.aborted === "boolean" &&
      typeof (value as AbortSignal).addEventListener === "function",
    "an AbortSignal",
  ],
  logger: [
    (value) =>
      typeof (value as Console)?.debug === "function" && typeof (value as Console).warn === "function",
    "an object with debug and warn functions (console, or a logger of that shape)",
  ],
};

/**
 * The option names of `T`, from an object literal with one property per name: the compiler rejects a missing
 * name and an extra one, so the list cannot drift from the type. Define it next to the options type.
 */
export function optionNames<T>(names: { readonly [K in keyof Required<T>]: 1 }): readonly string[] {
  return Object.keys(names);
}

/**
 * Throws `TypeError` for the first property of `given` not in `known`, suggesting the closest known name, or
 * saying where an option that belongs elsewhere goes (`misplaced`: name → where it goes); and for a known one
 * of the wrong type, among those every options object reads alike (flags, `name`, `signal`, `logger`).
 */
export function checkOptionNames(
  given: object,
  known: readonly string[],
  context: string,
  misplaced: Readonly<Record<string, string>> = {},
): void {
  for (const name of Object.keys(given)) {
    if (known.includes(name)) {
      const kind = Object.hasOwn(KINDS, name) ? KINDS[name] : undefined;
      const value = (given as Record<string, unknown>)[name];
      if (kind && value != null && !kind[0](value)) {
        throw new TypeError(`${context}: ${name} must be ${kind[1]}, current value is ${shown(value)}`);
      }
      continue;
    }
    const elsewhere = Object.hasOwn(misplaced, name) ? `: ${misplaced[name]}` : "";
    const best = elsewhere ? undefined : closest(name, known);
    throw new TypeError(
      `${context}: unknown option "${name}"${elsewhere}${best ? `; did you mean "${best}"?` : ""} (known: ${
        known.join(", ")
      })`,
    );
  }
}

/** A value as an error message shows it: a string quoted, an object or function by its kind. */
function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  return typeof value === "object" && value !== null ? "an object" : String(value);
}

/** An options object: `TypeError` when it is not an object, or for its first unknown name (as above). */
export function checkOptions(
  options: unknown,
  known: readonly string[],
  context: string,
  misplaced?: Readonly<Record<string, string>>,
): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`${context}: expected an options object, current value is ${String(options)}`);
  }
  checkOptionNames(options, known, context, misplaced);
}

/**
 * The known name `name` is plausibly a typo of, or `undefined`. Plausible: within an edit distance that grows
 * with the name's length (1 up to 4 characters, 2 up to 8, else 3; a swap of neighbours counts 1), or one of
 * the two contains the other (`deadline` → `deadlineMs`) when the shorter has 3 characters or more. Nearest
 * first, a containing name before others as near. A short name is never matched to an unrelated short one
 * (`ttl` is not `url`).
 */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  const typed = name.toLowerCase();
  const limit = typed.length <= 4 ? 1 : typed.length <= 8 ? 2 : 3;
  let best: string | undefined, bestScore = Infinity;
  for (const candidate of candidates) {
    const known = candidate.toLowerCase();
    const d = distance(typed, known);
    const contains = Math.min(typed.length, known.length) >= 3 &&
      (known.includes(typed) || typed.includes(known));
    if (d > limit && !contains) continue;
    // Half a point for a name that does not contain the other: a containing one wins a tie.
    const score = d + (contains ? 0 : 0.5);
    if (score < bestScore) [best, bestScore] = [candidate, score];
  }
  return best;
}

/** Edit distance with adjacent transpositions (optimal string alignment), three rows at a time. */
function distance(a: string, b: string): number {
  let before: number[] = [];
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        next[j] = Math.min(next[j], before[j - 2] + 1);
      }
    }
    [before, row] = [row, next];
  }
  return row[b.length];
}
