// The Node benchmarks' harness: subjects interleaved round-robin (the order rotated each round), so that machine
// drift hits all of them alike; each result is the median over rounds, with the spread ((max - min) / median).

/**
 * Runs `[name, run, warm?]` entries `rounds` times each; `run()` resolves with the operations it did, `warm()`
 * (untimed) runs before each of its rounds.
 */
export async function measure(runs, rounds) {
  const samples = Object.fromEntries(runs.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < runs.length; k++) {
      const [name, run, warm] = runs[(k + round) % runs.length];
      await warm?.();
      const t0 = performance.now();
      const ops = await run();
      samples[name].push(ops / ((performance.now() - t0) / 1000));
    }
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, xs]) => {
      xs.sort((a, b) => a - b);
      const median = xs[Math.floor(xs.length / 2)];
      return [name, { opsPerSec: median, spread: (xs.at(-1) - xs[0]) / median }];
    }),
  );
}
