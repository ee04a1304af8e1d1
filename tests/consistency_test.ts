/**
 * The concurrency checker: several processes (Deno and Node) read and write shared items through one cache
 * while faults are injected, and every read is checked against the writes acknowledged before it started
 * (see tests/fixtures/checker_worker.mjs). Asserted per backend: zero stale reads, zero caller errors caused
 * by the cache, zero unhandled rejections (one ends its process), every queued invalidation landed, every
 * call within one deadline plus its loader plus 100 ms (and the event loop's delay), bounded memory, and hits
 * in every process (a process whose reads all miss, say one that cannot read what the others wrote, has no
 * stale read to find, so the other assertions would pass without checking it). Each runs again with the
 * two-level cache (`l1`) on in half the processes, where a read is held to the staleness bound: never older
 * than what was acknowledged more than `maxStaleMs` before it began.
 *
 * Runs a few seconds per backend; `CHECKER_MS=60000 npm test` soaks longer.
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { redisCli, RedisCluster, RedisServer, UpstashBridge } from "./_servers.ts";
import { TcpProxy } from "./_proxy.ts";
import { ReplicatedCluster } from "./_cluster.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

const DURATION_MS = Number(Deno.env.get("CHECKER_MS") ?? 5000);
const WORKER = fileURLToPath(new URL("./fixtures/checker_worker.mjs", import.meta.url));
const NPM_BUILD = fileURLToPath(new URL("../npm/esm/mod.js", import.meta.url));
const MOD = new URL("../mod.ts", import.meta.url).href;
const NPM_L1 = fileURLToPath(new URL("../npm/esm/l1.js", import.meta.url));
const L1 = new URL("../src/l1/mod.ts", import.meta.url).href;
/**
 * The workers' `deadlineMs`. Every call (a read, an invalidation) takes at most one deadline of store calls,
 * plus its loader, plus {@linkcode SLACK_MS}, plus what the machine added: the longest its event loop was late
 * (a shared 2-core machine under a parallel suite). A locked read may also wait for the lock's ttl (a holder
 * whose release did not land), set short in the workers.
 */
const DEADLINE_MS = 1000;
const SLACK_MS = 100;
const LOCK_TTL_MS = 2000;
const MAX_RSS = 512 << 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Report {
  reads: number;
  writes: number;
  stale: number;
  errors: number;
  queued: number;
  unlanded: number;
  maxReadMs: number;
  maxLockedReadMs: number;
  maxInvalidateMs: number;
  maxLoadMs: number;
  maxLagMs: number;
  undelivered: number;
  rss: number;
  withinBound: number;
  staleness: number[];
  hits: number;
  l1Hits: number;
  storeErrors: number;
  worst: string[];
}

/**
 * The share of its reads each process must serve as hits. Each item is written some 6 times a second, so a
 * read finds a valid entry less often than on a quiet cache: a quarter to three quarters of a process's reads
 * were hits here, faults included. The floor asks only that the cache really served every process.
 */
const MIN_HIT_SHARE = 1 / 20;

/** The two-level cache's bound in the L1 runs: short, so that the runs cross it many times. */
const L1_MAX_STALE_MS = 200;

/**
 * How long after its run (and the wait for its queued invalidations to land) a worker may take to report and
 * exit (closing, the lock's ttl, a loaded machine).
 */
const EXIT_GRACE_MS = 60_000;

/** Starts one worker process; resolves with its report. */
async function worker(runtime: "deno" | "node", env: Record<string, string>): Promise<Report> {
  // An unhandled rejection ends the process: Deno's default, Node's with `strict`.
  const [cmd, args, lib, l1Lib] = runtime === "deno" ? [Deno.execPath(), ["run", "-A", WORKER], MOD, L1] : [
    "node",
    ["--unhandled-rejections=strict", WORKER],
    pathToFileURL(NPM_BUILD).href,
    pathToFileURL(NPM_L1).href,
  ];
  const child = new Deno.Command(cmd, {
    args,
    env: { ...env, LIB: lib, L1_LIB: l1Lib, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // A process that stays up after its work (a socket left referenced) is a bug the README rules out ("a
  // process does not need closeCache to exit"): it fails the run here instead of hanging it.
  let hung = false;
  const watchdog = setTimeout(() => {
    hung = true;
    child.kill("SIGKILL");
  }, Number(env.DURATION_MS) + Number(env.LANDING_MS) + EXIT_GRACE_MS);
  const { code, stdout, stderr } = await child.output().finally(() => clearTimeout(watchdog));
  const out = new TextDecoder().decode(stdout).trim();
  assert.ok(!hung, `${runtime} worker did not exit within ${EXIT_GRACE_MS} ms of its run's end: ${out}`);
  assert.equal(code, 0, `${runtime} worker exited ${code}: ${new TextDecoder().decode(stderr)}`);
  return JSON.parse(out.split("\n").at(-1)!);
}

/** How a checker run differs from the default. */
interface RunOptions {
  /** Concurrent loops per worker. */
  loops?: number;
  /** How long a queued invalidation may take to land before it counts as lost. */
  landingMs?: number;
  /** How long the workers run. */
  durationMs?: number;
}

/** Runs the workers against a backend while `faults` runs; checks and returns the combined report. */
async function check(
  name: string,
  cache: { url: string; token?: string },
  faults: () => Promise<void>,
  l1: boolean,
  { loops = 16, landingMs = 5000, durationMs = DURATION_MS }: RunOptions = {},
): Promise<Report> {
  assert.ok(existsSync(NPM_BUILD), "the Node workers use the npm build: run `npm run build` (npm test does)");
  const db = await RedisServer.start();
  try {
    const runtimes = ["deno", "deno", "node", "node"] as const;
    const env = {
      CACHE_URL: cache.url,
      CACHE_TOKEN: cache.token ?? "",
      DB_URL: db.url,
      PREFIX: `chk${crypto.randomUUID().slice(0, 8)}`,
      DEADLINE_MS: String(DEADLINE_MS),
      LOCK_TTL_MS: String(LOCK_TTL_MS),
      CONCURRENCY: String(loops),
      LANDING_MS: String(landingMs),
      DURATION_MS: String(durationMs),
      WORKERS: String(runtimes.length),
    };
    // With l1, one process of each runtime has the two-level cache and the other has not: a value one of them
    // keeps in L1 is held to what the others acknowledged, and the reverse.
    const withL1 = runtimes.map((_, i) => l1 && i % 2 === 0);
    const runs = Promise.all(
      runtimes.map((r, i) =>
        worker(r, { ...env, L1_MAX_STALE_MS: withL1[i] ? String(L1_MAX_STALE_MS) : "0" })
      ),
    );
    // Faults are timed from the moment every worker is up and starts its run (see checker_worker.mjs).
    const started = Date.now() + EXIT_GRACE_MS;
    const allUp = async () => {
      while (await redisCli(db.port, "GET", "ready") !== String(runtimes.length)) {
        assert.ok(Date.now() < started, "the workers did not all start");
        await sleep(10);
      }
    };
    await Promise.all([runs, allUp().then(faults)]);
    const reports = await runs;
    const total = reports.reduce((a, r) => ({
      ...a,
      reads: a.reads + r.reads,
      writes: a.writes + r.writes,
      stale: a.stale + r.stale,
      errors: a.errors + r.errors,
      queued: a.queued + r.queued,
      unlanded: a.unlanded + r.unlanded,
      undelivered: a.undelivered + r.undelivered,
      maxReadMs: Math.max(a.maxReadMs, r.maxReadMs),
      maxLockedReadMs: Math.max(a.maxLockedReadMs, r.maxLockedReadMs),
      maxInvalidateMs: Math.max(a.maxInvalidateMs, r.maxInvalidateMs),
      maxLoadMs: Math.max(a.maxLoadMs, r.maxLoadMs),
      maxLagMs: Math.max(a.maxLagMs, r.maxLagMs),
      rss: Math.max(a.rss, r.rss),
      withinBound: a.withinBound + r.withinBound,
      staleness: [...a.staleness, ...r.staleness],
      l1Hits: a.l1Hits + r.l1Hits,
      worst: [...a.worst, ...r.worst],
    }));
    console.log(
      `${name}${
        l1 ? ` with l1 in half the processes (maxStaleMs ${L1_MAX_STALE_MS})` : ""
      }: ${total.reads} reads, ${total.writes} ` +
        `writes (${total.queued} queued during faults), ${total.stale} stale, ${total.errors} errors, ` +
        `slowest read ${ms(total.maxReadMs)} (locked ${ms(total.maxLockedReadMs)}), slowest invalidation ${
          ms(total.maxInvalidateMs)
        }, slowest loader ${ms(total.maxLoadMs)}, event loop late by up to ${ms(total.maxLagMs)}` +
        (l1
          ? `, ${total.l1Hits} L1 hits, ${total.withinBound} older values within the bound${staleness(total)}`
          : "") +
        `; per process, hits of reads (store errors): ${
          reports.map((r, i) => `${runtimes[i]} ${r.hits} of ${r.reads} (${r.storeErrors})`).join(", ")
        }`,
    );
    assert.equal(total.stale, 0, `stale reads: ${total.worst.join("; ")}`);
    assert.equal(total.errors, 0, `caller errors: ${total.worst.join("; ")}`);
    assert.equal(total.unlanded, 0, `every queued invalidation landed within ${landingMs} ms of being made`);
    // A sanity floor, not a throughput target (a loaded machine did 553 reads where an idle one does 3,000):
    // the per-process hit floor below is what shows that the cache really worked. Throughput is logged above.
    assert.ok(total.reads > 200 && total.writes > 20, `the load really ran: ${total.reads} reads`);
    reports.forEach((r, i) =>
      assert.ok(
        r.hits > 0 && r.hits >= r.reads * MIN_HIT_SHARE,
        `the cache really served process ${i + 1} (${runtimes[i]}): ${r.hits} hits of ${r.reads} reads`,
      )
    );
    reports.forEach((r, i) => {
      // One deadline of store calls, the loader, the slack, and the process's event loop delay.
      const bound = DEADLINE_MS + r.maxLoadMs + SLACK_MS + r.maxLagMs;
      const what = `process ${i + 1} (${runtimes[i]}; loader up to ${ms(r.maxLoadMs)}, event loop late by ${
        ms(r.maxLagMs)
      })`;
      assert.ok(r.maxReadMs < bound, `${what}: slowest read ${ms(r.maxReadMs)}, over ${ms(bound)}`);
      assert.ok(
        r.maxInvalidateMs < bound,
        `${what}: slowest invalidation ${ms(r.maxInvalidateMs)}, over ${ms(bound)}`,
      );
      assert.ok(
        r.maxLockedReadMs < LOCK_TTL_MS + bound,
        `${what}: slowest locked read ${ms(r.maxLockedReadMs)}, over ${ms(LOCK_TTL_MS + bound)}`,
      );
    });
    assert.ok(total.rss < MAX_RSS, `rss ${(total.rss / 2 ** 20).toFixed(0)} MiB`);
    // Each item is written some 6 times a second and each process reads each entry some 7 times, so about one
    // read in five finds its entry in L1 and valid, and fewer on a loaded machine (in CI, 360 hits were under
    // a tenth of the reads while the bench ran beside it). The floor asks only that L1 really served reads.
    reports.forEach((r, i) => {
      if (withL1[i]) {
        assert.ok(r.l1Hits > r.reads / 50, `L1 really served process ${i + 1}: ${r.l1Hits} hits`);
      } else assert.equal(r.l1Hits, 0, `process ${i + 1} has no L1`);
    });
    return total;
  } finally {
    await db.stop();
  }
}

/** `value` as whole milliseconds. */
const ms = (value: number) => `${value.toFixed(0)} ms`;

/** How stale the older values within the bound were (ms since the newer version was acknowledged). */
function staleness({ staleness }: Report): string {
  if (staleness.length === 0) return "";
  const sorted = [...staleness].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.ceil(sorted.length * p) - 1].toFixed(0);
  return ` (acknowledged p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms before the read)`;
}

/** Runs `steps` at the given offsets (ms from now) of the run. */
async function schedule(steps: [number, () => Promise<void> | void][]) {
  const start = Date.now();
  for (const [at, step] of steps) {
    await sleep(Math.max(0, start + at * (DURATION_MS / 5000) - Date.now()));
    await step();
  }
}

/** Both runs of a checker test: without and with the two-level cache. */
function checkerTest(what: string, fn: (l1: boolean) => Promise<void>) {
  test(`checker: ${what}`, () => fn(false));
  test(`checker with l1: ${what}`, () => fn(true));
}

checkerTest(
  "redis with pause, late-delivered requests, a half-open connection, OOM and kill/restart: no stale read",
  async (l1) => {
    const server = await RedisServer.start();
    const proxy = new TcpProxy(server.port);
    try {
      const faults = () =>
        schedule([
          [800, () => void redisCli(server.port, "CLIENT", "PAUSE", "400", "ALL")],
          [1500, () => void (proxy.delayMs = 1500)], // requests reach Redis after the client gave up
          [2500, () => void (proxy.delayMs = 0)],
          [2550, () => proxy.halfOpen("both")], // the connection swallows bytes, nothing tells either end
          [2950, () => proxy.heal()], // new connections work; the swallowing one must be abandoned
          [3000, () => void redisCli(server.port, "CONFIG", "SET", "maxmemory", "1")], // noeviction: OOM
          [3600, () => void redisCli(server.port, "CONFIG", "SET", "maxmemory", "0")],
          [4000, () => server.kill()],
          [4300, () => server.restart()],
        ]);
      const report = await check("redis", { url: `redis://127.0.0.1:${proxy.port}` }, faults, l1);
      assert.ok(report.queued > 0, "faults really hit invalidations");
    } finally {
      proxy.close();
      await server.stop();
    }
  },
);

test("checker: redis with lock-free and locked reads, no faults: no stale read", async () => {
  const server = await RedisServer.start();
  try {
    await check("redis (healthy)", { url: server.url }, () => Promise.resolve(), false);
  } finally {
    await server.stop();
  }
});

checkerTest("redis cluster with each master paused in turn: no stale read", async (l1) => {
  const cluster = await RedisCluster.start(); // its own: pausing the shared one would disturb other tests
  try {
    const faults = () =>
      schedule(
        cluster.nodes.map((node, i) => [
          600 + i * 1300,
          () => void redisCli(node.port, "CLIENT", "PAUSE", "1500", "ALL"),
        ]),
      );
    await check("redis cluster", { url: cluster.url }, faults, l1);
  } finally {
    await cluster.stop();
  }
});

checkerTest("upstash bridge with a paused and a full redis behind it: no stale read", async (l1) => {
  const server = await RedisServer.start();
  const bridge = await UpstashBridge.start(server.url);
  try {
    const faults = () =>
      schedule([
        [1000, () => void redisCli(server.port, "CLIENT", "PAUSE", "1500", "ALL")], // bridge requests land late
        [3000, () => void redisCli(server.port, "CONFIG", "SET", "maxmemory", "1")],
        [3700, () => void redisCli(server.port, "CONFIG", "SET", "maxmemory", "0")],
      ]);
    await check("upstash", { url: bridge.url, token: bridge.token }, faults, l1);
  } finally {
    await bridge.stop();
    await server.stop();
  }
});

checkerTest("deno kv, one database file shared by Deno and Node processes: no stale read", async (l1) => {
  const dir = await Deno.makeTempDir();
  try {
    // Half the loops: the file takes one writer at a time, and with 16 loops per process the conditional
    // writes lost the lock to one another so often (a third tried again, some 16 times) that calls ran past
    // their deadline, and a process's breaker stayed open for much of the run. With 8, more reads got done.
    await check("deno kv", { url: `denokv:${dir}/cache.sqlite` }, () => Promise.resolve(), l1, { loops: 8 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

checkerTest(
  "redis cluster with replicas, a master frozen until its replica took over: no stale read",
  async (l1) => {
    const cluster = await ReplicatedCluster.start();
    try {
      const target = cluster.nodes[0]; // a master at creation
      const replica = await cluster.replicaOf(target);
      const faults = async () => {
        await schedule([[500, () => target.freeze()]]);
        try {
          await cluster.promoted(replica);
          await sleep(500); // hits go on through the promoted replica while the old master is still frozen
        } finally {
          target.thaw(); // it rejoins as a replica of the promoted one and resyncs from it
        }
      };
      // The invalidations made while the master was frozen land once the promoted replica's own replica is in
      // sync: the old master, which it counts (see adapters/_durable.ts), resyncs after Redis's default
      // `repl-diskless-sync-delay` of 5 s, some 5-6 s after it is thawed. Until then each process reads the
      // items it invalidated from their loaders; the longer run gives the healthy cluster after it some time.
      const report = await check("redis cluster with replicas", { url: cluster.url }, faults, l1, {
        landingMs: 20_000,
        durationMs: Math.max(DURATION_MS, 12_000),
      });
      assert.ok(report.queued > 0, "the failover really hit invalidations");
    } finally {
      await cluster.stop();
    }
  },
);
