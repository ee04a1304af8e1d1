/**
 * Probabilistic early refresh (XFetch, Vattani et al., "Optimal Probabilistic Cache Stampede Prevention",
 * VLDB 2015): a read refreshes when `now - loadMs · β · ln(random) ≥ expiry`. The closer to expiry and the
 * slower the load, the likelier a refresh, so refreshes spread out instead of all landing at one moment.
 *
 * @module
 */

/** `true` when this read should refresh the entry now. `random` returns a number in [0, 1) (0 is read as the smallest positive number). */
export function xfetchDue(
  now: number,
  expiresAt: number,
  loadMs: number,
  beta: number,
  random: () => number,
): boolean {
  const r = random();
  return now - loadMs * beta * Math.log(r > 0 ? r : Number.MIN_VALUE) >= expiresAt;
}
