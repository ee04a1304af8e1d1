/**
 * Unknown option names are a typo until proven otherwise: they are a `TypeError` that names the closest known
 * option, instead of being ignored (`initCache({ urll })` silently meant "in memory").
 *
 * @module
 */

/** Throws `TypeError` for the first property of `given` not in `known`, suggesting the closest known name. */
export function checkOptionNames(given: object, known: readonly string[], context: string): void {
  for (const name of Object.keys(given)) {
    if (known.includes(name)) continue;
    const best = closest(name, known);
    throw new TypeError(
      `${context}: unknown option "${name}"${best ? `; did you mean "${best}"?` : ""} (known: ${
        known.join(", ")
      })`,
    );
  }
}

/** The candidate within edit distance 3 (and less than the name's length) of `name`, nearest first. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined, bestDistance = Math.min(3, name.length - 1) + 1;
  for (const candidate of candidates) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Levenshtein distance, one row at a time. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}
