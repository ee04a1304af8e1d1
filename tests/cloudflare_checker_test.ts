/**
 * The concurrency checker (tests/fixtures/checker_worker.mjs, as tests/consistency_test.ts runs it) on the
 * Cloudflare stores: four Deno processes read and write shared items through their caches, two through one
 * Worker and two through the other, all reaching one Durable Object in workerd (wrangler dev); every read is
 * checked against the writes acknowledged before it started. Asserted: zero stale reads, zero caller errors,
 * zero unhandled rejections, and that the load really ran. The KV hybrid runs over a KV whose writes land
 * 300 ms late, so reads meet old bodies in KV all the time.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { RedisServer } from "./_servers.ts";
import { startWorkers } from "./_cloudflare.ts";

const DURATION_MS = Number(Deno.env.get("CHECKER_MS") ?? 5000);
const WORKER = fileURLToPath(new URL("./fixtures/checker_worker.mjs", import.meta.url));
const LIB = new URL("./fixtures/cloudflare/checker_lib.ts", import.meta.url).href;

interface Report {
  reads: number;
  writes: number;
  stale: number;
  errors: number;
  unlanded: number;
  maxReadMs: number;
  worst: string[];
}

async function run(kind: string): Promise<Report> {
  const workers = await startWorkers();
  const db = await RedisServer.start();
  try {
    const prefix = `cfchk${crypto.randomUUID().slice(0, 8)}`;
    const reports = await Promise.all(["first", "first", "second", "second"].map(async (via) => {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", WORKER],
        env: {
          LIB,
          CACHE_URL: workers.base,
          CACHE_TOKEN: `${kind}:${via}`,
          DB_URL: db.url,
          PREFIX: prefix,
          L1_MAX_STALE_MS: "0",
          LOCK_TTL_MS: "2000",
          DURATION_MS: String(DURATION_MS),
          // Every call crosses wrangler's local proxy (a few hundred requests a second on a shared machine).
          CONCURRENCY: "8",
          NO_COLOR: "1",
        },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const { code, stdout, stderr } = await child.output();
      const out = new TextDecoder().decode(stdout).trim();
      assert.equal(code, 0, `checker process exited ${code}: ${new TextDecoder().decode(stderr)}`);
      return JSON.parse(out.split("\n").at(-1)!) as Report;
    }));
    const total = reports.reduce((a, r) => ({
      reads: a.reads + r.reads,
      writes: a.writes + r.writes,
      stale: a.stale + r.stale,
      errors: a.errors + r.errors,
      unlanded: a.unlanded + r.unlanded,
      maxReadMs: Math.max(a.maxReadMs, r.maxReadMs),
      worst: [...a.worst, ...r.worst],
    }));
    console.log(
      `${kind}: ${total.reads} reads, ${total.writes} writes, ${total.stale} stale, ${total.errors} errors, ` +
        `slowest read ${total.maxReadMs.toFixed(0)} ms`,
    );
    assert.equal(total.stale, 0, `stale reads: ${total.worst.join("; ")}`);
    assert.equal(total.errors, 0, `caller errors: ${total.worst.join("; ")}`);
    assert.equal(total.unlanded, 0, "every invalidation landed");
    assert.ok(total.reads > 200 && total.writes > 20, "the load really ran");
    return total;
  } finally {
    await db.stop();
    await workers.stop();
  }
}

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

test("checker: durable object store, four processes through two Workers: no stale read", () =>
  run("do").then(() => {}));
test("checker: kv hybrid over a KV whose writes land 300 ms late: no stale read", () =>
  run("kv-lag-300").then(() => {}));
