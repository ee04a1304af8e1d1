// Deterministic random draws shared by the benchmarks, so every subject sees the same keys.

/** Deterministic pseudo-random numbers, so every subject replays the same trace. */
export function lcg(seed) {
  return () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

/** Ranks drawn from Zipf(s) over `keys` keys (inverse CDF by binary search). */
export function zipfSampler(keys, s, random) {
  const cdf = new Float64Array(keys);
  let sum = 0;
  for (let r = 0; r < keys; r++) cdf[r] = sum += 1 / (r + 1) ** s;
  return () => {
    const x = random() * sum;
    let lo = 0, hi = keys - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
