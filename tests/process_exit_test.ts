/**
 * Background work never keeps a process alive: scripts that configured Redis (single node or Cluster), Upstash
 * or a Deno KV file end by themselves without `closeCache()`, on Node (the npm build) and Deno, with the server healthy, unreachable, or
 * killed while the script runs. And an idle connection that dropped is reopened by the next call.
 */
import assert from "node:assert/strict";
import { cacheRead, closeCache, initCache } from "../mod.ts";
import { freePort, RedisServer } from "./_servers.ts";
import { TcpProxy } from "./_proxy.ts";
import { RecordingLogger } from "./_helpers.ts";

const EXIT_WITHIN_MS = 5_000;
const script = new URL("./fixtures/script_without_close.mjs", import.meta.url).pathname;
const runtimes = {
  node: ["node", [script]],
  deno: [Deno.execPath(), ["run", "-A", script]],
} as const;

/** Runs the script; resolves with its output once it exits, or fails when it is still running at the bound. */
async function runScript(
  runtime: keyof typeof runtimes,
  args: string[],
  onLine: (line: string) => Promise<void> = async () => {},
): Promise<string> {
  const [cmd, base] = runtimes[runtime];
  const child = new Deno.Command(cmd, {
    args: [...base, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  let out = "";
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      out += chunk;
      if (chunk.includes("killed?")) {
        await onLine("killed?");
        await writer.write(new TextEncoder().encode("go\n"));
      }
    }
  })();
  const timer = setTimeout(() => child.kill("SIGKILL"), EXIT_WITHIN_MS + 10_000);
  const started = performance.now();
  const status = await child.status;
  const ms = performance.now() - started;
  clearTimeout(timer);
  await reading;
  await writer.close().catch(() => {});
  assert.ok(
    ms < EXIT_WITHIN_MS,
    `${runtime} ${args.join(" ")} still running after ${ms.toFixed(0)} ms:\n${out}`,
  );
  assert.equal(status.code, 0, out);
  return out;
}

const expectLines = (out: string) => assert.match(out, /^\{"id":1\}\n(killed\?\n)?\{"id":1\}\ndone\n$/);

for (const runtime of ["node", "deno"] as const) {
  Deno.test({
    name: `exit: a ${runtime} script on a healthy Redis ends without closeCache`,
    ignore: !Deno.env.get("TEST_REDIS_URL"),
    async fn() {
      expectLines(await runScript(runtime, [Deno.env.get("TEST_REDIS_URL")!]));
    },
  });
  Deno.test({
    name:
      `exit: a ${runtime} script with l1 (a push subscription open) on a healthy Redis ends without closeCache`,
    ignore: !Deno.env.get("TEST_REDIS_URL"),
    async fn() {
      expectLines(await runScript(runtime, [Deno.env.get("TEST_REDIS_URL")!, "--l1"]));
    },
  });
  Deno.test({
    name: `exit: a ${runtime} script on a healthy Redis Cluster ends without closeCache`,
    ignore: !Deno.env.get("TEST_CLUSTER_URL"),
    async fn() {
      expectLines(await runScript(runtime, [Deno.env.get("TEST_CLUSTER_URL")!]));
    },
  });
  Deno.test({
    name: `exit: a ${runtime} script with l1 on a healthy Redis Cluster ends without closeCache`,
    ignore: !Deno.env.get("TEST_CLUSTER_URL"),
    async fn() {
      expectLines(await runScript(runtime, [Deno.env.get("TEST_CLUSTER_URL")!, "--l1"]));
    },
  });
  Deno.test({
    name: `exit: a ${runtime} script on Upstash (REST) ends without closeCache`,
    ignore: !Deno.env.get("TEST_UPSTASH_URL"),
    async fn() {
      const args = [Deno.env.get("TEST_UPSTASH_URL")!, `--token=${Deno.env.get("TEST_UPSTASH_TOKEN")}`];
      expectLines(await runScript(runtime, args));
    },
  });
  Deno.test(`exit: a ${runtime} script on a Deno KV file (denokv:) ends without closeCache`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "svc-cache-exit-kv-" });
    try {
      expectLines(await runScript(runtime, [`denokv:${dir}/kv.sqlite`]));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
  Deno.test(`exit: a ${runtime} script whose Redis is unreachable ends without closeCache`, async () => {
    expectLines(await runScript(runtime, [`redis://127.0.0.1:${freePort()}`]));
  });
  Deno.test({
    name: `exit: a ${runtime} script whose Redis is killed while it runs ends without closeCache`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const server = await RedisServer.start();
      try {
        expectLines(await runScript(runtime, [server.url, "--kill-after-first"], () => server.kill()));
      } finally {
        await server.stop();
      }
    },
  });
  Deno.test({
    name:
      `exit: a ${runtime} script with l1 whose Redis is killed while it runs ends without closeCache (its subscriber retrying)`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const server = await RedisServer.start();
      try {
        const args = [server.url, "--l1", "--kill-after-first"];
        expectLines(await runScript(runtime, args, () => server.kill()));
      } finally {
        await server.stop();
      }
    },
  });
}

Deno.test({
  name: "redis: an idle connection that dropped is reopened by the next call, which is a hit",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await RedisServer.start();
    const proxy = new TcpProxy(server.port);
    try {
      await initCache({ url: `redis://127.0.0.1:${proxy.port}`, logger: new RecordingLogger() });
      let loads = 0;
      const get = cacheRead({ key: "idle:{id}", ttl: 60 }, ({ id }: { id: number }) => (loads++, id));
      await get({ id: 1 });
      proxy.cut();
      await new Promise((r) => setTimeout(r, 300)); // the drop is noticed; an idle client stops retrying
      proxy.restore();
      assert.equal(await get({ id: 1 }), 1);
      assert.equal(loads, 1, "the first call after the outage reconnected and hit");
    } finally {
      await closeCache();
      await proxy.close();
      await server.stop();
    }
  },
});
