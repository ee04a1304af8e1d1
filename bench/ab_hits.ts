/**
 * A/B of the hit paths between two copies of the source, in one process: memory-tier and L1 hits through a
 * cached function and through `get`, each hit checking one tag. The two copies run in alternating short rounds
 * (which goes first alternates too), so a noisy machine slows both alike; the figure is the median of the
 * per-round ratios. Prints one line per path.
 * Usage: deno run -A bench/ab_hits.ts <old-checkout-dir> <redis-url> [path ...]
 * (make the old copy with `git archive <commit> mod.ts src adapters | tar -x -C <dir>`; paths: "memory
 * cacheRead", "memory get", "l1 cacheRead", "l1 get").
 *
 * @module
 */

import * as currentMod from "../mod.ts";
import { twoLevel } from "../src/l1/mod.ts";

/** A copy of the library, and how it takes L1's options (`l1: twoLevel(...)` now; a plain object before). */
type Library = typeof currentMod & { l1(options: { maxEntries: number; maxStaleMs: number }): unknown };
const current: Library = { ...currentMod, l1: twoLevel };
interface Subject {
  hit(i: number): Promise<unknown>;
  close(): Promise<unknown>;
}

const [oldDir, redisUrl, ...chosen] = Deno.args;
const paths = chosen.length > 0 ? chosen : ["memory cacheRead", "memory get", "l1 cacheRead", "l1 get"];
const KEYS = 1000;
const ROUNDS = 101;
const ROUND_MS = 40;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function subject(library: Library, path: string): Promise<Subject> {
  const prefix = `ab${crypto.randomUUID().slice(0, 8)}`;
  const l1 = path.startsWith("l1");
  const cache = await library.createCache({
    prefix,
    logger: quiet,
    ...(l1 ? { url: redisUrl, l1: library.l1({ maxEntries: 4 * KEYS, maxStaleMs: 60_000 }) as never } : {}),
  });
  const read = cache.cacheRead(
    { key: "u:{id}", tags: ["u:{id}"], ttl: 3600 },
    ({ id }: { id: number }) => ({ id, name: `user ${id}` }),
  );
  for (let id = 0; id < KEYS; id++) {
    await read({ id });
    await cache.set(`s${id}`, { id }, { ttl: 3600, tags: [`t${id}`] });
    await cache.get(`s${id}`); // held in L1 from now on
  }
  const hit = path.endsWith("get")
    ? (i: number) => cache.get(`s${i % KEYS}`)
    : (i: number) => read({ id: i % KEYS });
  return { hit, close: () => cache.close() };
}

/** Hits per second over `ms`. */
async function run(s: Subject, ms: number): Promise<number> {
  let n = 0;
  const until = performance.now() + ms;
  while (performance.now() < until) for (let k = 0; k < 200; k++) await s.hit(n++);
  return n / ms * 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const oldUrl = (path: string) => new URL(`file://${Deno.realPathSync(oldDir)}/${path}`).href;
const oldL1 = await import(oldUrl("src/l1/mod.ts")).catch(() => undefined);
const old: Library = {
  ...await import(oldUrl("mod.ts")),
  l1: (options) => oldL1 ? oldL1.twoLevel(options) : options,
};
for (const path of paths) {
  const a = await subject(old, path), b = await subject(current, path);
  for (let w = 0; w < 3; w++) await run(a, 200), await run(b, 200);
  const olds: number[] = [], news: number[] = [], ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const [x, y] = r % 2 ? [await run(b, ROUND_MS), await run(a, ROUND_MS)].reverse() : [
      await run(a, ROUND_MS),
      await run(b, ROUND_MS),
    ];
    olds.push(x), news.push(y), ratios.push(y / x);
  }
  console.log(
    `${path}: old ${Math.round(median(olds)).toLocaleString("en")}/s, new ${
      Math.round(median(news)).toLocaleString("en")
    }/s, median new/old per round pair ${median(ratios).toFixed(3)}`,
  );
  await a.close(), await b.close();
}
Deno.exit(0);
