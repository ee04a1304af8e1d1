/**
 * Latency of a cached call while the backend hangs (every call would wait forever): the deadline bounds the
 * first calls, then the open breaker skips the store. Prints JSON with p50/p99/max in ms.
 * Usage: deno run -A bench/hang_latency.ts [calls] [deadlineMs]
 *
 * @module
 */

import { cacheRead, closeCache, initCache } from "../mod.ts";
import { memoryStore } from "../adapters/memory.ts";
import { faultStore } from "../src/testing/mod.ts";

const calls = Number(Deno.args[0] ?? 2000);
const deadlineMs = Number(Deno.args[1] ?? 50);
const store = faultStore(memoryStore());
store.fault = { mode: "hang" };
await initCache({ store, deadlineMs, logger: { debug() {}, info() {}, warn() {}, error() {} } });
const get = cacheRead({ key: "u:{id}", tags: ["user:{id}"], ttl: 60 }, ({ id }: { id: number }) => ({ id }));
const times: number[] = [];
for (let k = 0; k < calls; k++) {
  const t0 = performance.now();
  await get({ id: k % 100 });
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
console.log(
  JSON.stringify({
    calls,
    deadlineMs,
    p50: at(0.5),
    p99: at(0.99),
    max: times.at(-1),
    storeCalls: store.calls,
  }),
);
await closeCache();
