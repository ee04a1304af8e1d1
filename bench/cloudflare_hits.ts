/**
 * Cache hits inside a Worker under local workerd (`wrangler dev`): the Durable Object store, the KV hybrid,
 * and Upstash through the local bridge; each loop reads its own entry (two tags), sequentially and with 16
 * concurrent loops in the Worker (whose lookups of one tick the cache reads together: one subrequest then
 * serves several hits). Reports hits per second and subrequests per hit (object requests and KV reads counted
 * in the Worker, Upstash requests by the bridge). Local workerd runs the object, KV and the Worker on this machine,
 * so the figures compare the stores' work, not Cloudflare's network. Prints a Markdown table.
 * Usage: deno run -A bench/cloudflare_hits.ts [runMs] [rounds]
 *
 * @module
 */

import { startWorkers } from "../tests/_cloudflare.ts";
import { RedisServer, UpstashBridge } from "../tests/_servers.ts";

const runMs = Number(Deno.args[0] ?? 2000);
const rounds = Number(Deno.args[1] ?? 3);

const workers = await startWorkers();
const redis = await RedisServer.start();
const bridge = await UpstashBridge.start(redis.url);
try {
  const rows: string[] = [];
  for (const store of ["do", "kv", "upstash"]) {
    for (const concurrency of [1, 16]) {
      const runs: { perSecond: number; perHit: number }[] = [];
      for (let round = 0; round < rounds; round++) {
        const query = new URLSearchParams({
          store,
          ms: String(runMs),
          concurrency: String(concurrency),
          url: bridge.url,
          token: bridge.token,
        });
        const before = await bridge.requests();
        const result = await (await fetch(`${workers.base}/bench?${query}`)).json();
        const upstashRequests = await bridge.requests() - before;
        if (result.storeHits !== result.hits) {
          throw new Error(`${store}: not every read was a hit: ${JSON.stringify(result)}`);
        }
        const subrequests = store === "upstash" ? upstashRequests : result.subrequests;
        runs.push({ perSecond: result.hits / (result.elapsedMs / 1000), perHit: subrequests / result.hits });
      }
      runs.sort((a, b) => a.perSecond - b.perSecond);
      const median = runs[Math.floor(runs.length / 2)];
      rows.push(
        `| ${name(store)} | ${concurrency} | ${median.perSecond.toFixed(0)} | ${median.perHit.toFixed(2)} |`,
      );
    }
  }
  console.log(
    "| Store (in a Worker, local workerd) | Concurrent loops | Hits/s (median) | Subrequests per hit |",
  );
  console.log("| --- | ---: | ---: | ---: |");
  for (const row of rows) console.log(row);
} finally {
  await bridge.stop();
  await redis.stop();
  await workers.stop();
}

function name(store: string): string {
  return store === "do"
    ? "Durable Object (`durableObjectStore`)"
    : store === "kv"
    ? "KV + Durable Object (`cloudflareStore`)"
    : "Upstash (local bridge)";
}
