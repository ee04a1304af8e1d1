/**
 * A small harness: subjects run interleaved round-robin (the order rotated each round) so that machine drift
 * hits all of them alike; each result is the median over rounds, with the spread.
 *
 * @module
 */

/** One thing to measure: `run(n)` performs n operations. */
export interface Subject {
  name: string;
  run(n: number): Promise<void>;
}

/** Median ops/s and spread ((max-min)/median) per subject. */
export interface Result {
  name: string;
  opsPerSec: number;
  spread: number;
}

/**
 * Measures every subject `rounds` times; each timed run lasts `runMs` (batches of `batch` operations until the
 * time is up), whatever the subject's speed: a fixed count would give the fastest subject the shortest sample.
 */
export async function measure(
  subjects: Subject[],
  runMs: number,
  rounds: number,
  batch = 2000,
): Promise<Result[]> {
  for (const s of subjects) await s.run(batch); // warm up
  const samples = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = subjects.map((_, i) => subjects[(i + round) % subjects.length]);
    for (const s of order) {
      const t0 = performance.now();
      let ops = 0;
      do {
        await s.run(batch);
        ops += batch;
      } while (performance.now() - t0 < runMs);
      samples.get(s.name)!.push(ops / ((performance.now() - t0) / 1000));
    }
  }
  return subjects.map((s) => {
    const xs = samples.get(s.name)!.sort((a, b) => a - b);
    const median = xs[Math.floor(xs.length / 2)];
    return { name: s.name, opsPerSec: median, spread: (xs[xs.length - 1] - xs[0]) / median };
  });
}

/** Runs `op` n times with `concurrency` callers pulling from a shared counter. */
export async function concurrently(
  n: number,
  concurrency: number,
  op: () => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < n) await op();
  }));
}

/** Formats a Markdown table; `base` names the subject the ratios are against. */
export function table(title: string, results: Result[], base: string): string {
  const ref = results.find((r) => r.name === base)!.opsPerSec;
  const rows = results.map((r) =>
    `| ${r.name} | ${Math.round(r.opsPerSec).toLocaleString("en-US")} | ${
      (r.opsPerSec / ref).toFixed(2)
    }× | ${Math.round(r.spread * 100)}% |`
  );
  return [
    `### ${title}`,
    "",
    `| subject | ops/s (median) | vs ${base} | spread |`,
    "| --- | ---: | ---: | ---: |",
    ...rows,
    "",
  ]
    .join("\n");
}
