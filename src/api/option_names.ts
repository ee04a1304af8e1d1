/**
 * Unknown option names are a typo until proven otherwise: they are a `TypeError` that names the closest known
 * option, instead of being ignored (`initCache({ urll })` silently meant "in memory", `cacheWrite({ tagz })`
 * invalidated nothing).
 *
 * @module
 */

/**
 * The option names of `T`, from an object literal with one property per name: the compiler rejects a missing
 * name and an extra one, so the list cannot drift from the type. Define it next to the options type.
 */
export function optionNames<T>(names: { readonly [K in keyof Required<T>]: 1 }): readonly string[] {
  return Object.keys(names);
}

/**
 * Throws `TypeError` for the first property of `given` not in `known`, suggesting the closest known name, or
 * saying where an option that belongs elsewhere goes (`misplaced`: name → where it goes).
 */
export function checkOptionNames(
  given: object,
  known: readonly string[],
  context: string,
  misplaced: Readonly<Record<string, string>> = {},
): void {
  for (const name of Object.keys(given)) {
    if (known.includes(name)) continue;
    const elsewhere = Object.hasOwn(misplaced, name) ? `: ${misplaced[name]}` : "";
    const best = elsewhere ? undefined : closest(name, known);
    throw new TypeError(
      `${context}: unknown option "${name}"${elsewhere}${best ? `; did you mean "${best}"?` : ""} (known: ${
        known.join(", ")
      })`,
    );
  }
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
