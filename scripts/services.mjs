// Backends for the test suite, started on loopback by `npm test` and stopped when it ends (also on failure):
// a redis-server, a three-master Redis Cluster, and the Upstash-protocol bridge over the single node.
// redis-server (and a Prometheus text parser) come from Debian's packages, installed with apt-get when missing.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * What the suite needs from Debian's packages, each with how to tell it is there: redis-server (and
 * redis-cli), and the Prometheus project's Python client, whose parser checks our metrics text.
 */
const SYSTEM_PACKAGES = [
  { name: "redis-server", present: "command -v redis-server && command -v redis-cli" },
  { name: "python3-prometheus-client", present: "/usr/bin/python3 -c 'import prometheus_client.parser'" },
];

/** Installs the missing ones with apt-get (updating its lists once if an install fails). */
export function ensureSystemPackages() {
  const missing = SYSTEM_PACKAGES.filter((p) => spawnSync("sh", ["-c", p.present]).status !== 0)
    .map((p) => p.name);
  if (missing.length === 0) return;
  console.log(`# missing: installing Debian's ${missing.join(", ")} with apt-get`);
  const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const aptGet = (...args) =>
    spawnSync(sudo[0] ?? "apt-get", [...(sudo.length ? ["apt-get"] : []), ...args], {
      stdio: "inherit",
      env,
    });
  if (aptGet("install", "-y", ...missing).status !== 0) {
    aptGet("update");
    if (aptGet("install", "-y", ...missing).status !== 0) {
      throw new Error(`Cannot install ${missing.join(", ")} with apt-get`);
    }
  }
}

/** `true` when nothing listens on the loopback port. */
function portFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer().once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A base port whose `count` ports (and their cluster bus ports, +10000) are all free. */
export async function freePorts(count) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 20000);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const all = [...ports, ...ports.map((p) => p + 10000)];
    if ((await Promise.all(all.map(portFree))).every(Boolean)) return ports;
  }
  throw new Error("Cannot find free loopback ports");
}

async function waitFor(check, what, timeoutMs = 15000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`Timed out waiting for ${what}`);
}

const cli = (port, ...args) =>
  spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args]).stdout?.toString().trim();

/** Starts one redis-server on loopback; `extra` adds server arguments. */
export async function startRedisServer(port, dir, extra = []) {
  mkdirSync(dir, { recursive: true });
  const child = spawn("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--logfile",
    join(dir, "redis.log"),
    ...extra,
  ], { stdio: "ignore" });
  await waitFor(() => cli(port, "ping") === "PONG", `redis-server on ${port}`);
  return child;
}

export async function startServices(tmp) {
  ensureSystemPackages();
  const children = [];
  const root = join(tmp, `services-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  const stop = async () => {
    for (const child of children.reverse()) child.kill("SIGTERM");
    await sleep(100);
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  };
  process.once("exit", () => children.forEach((c) => c.exitCode === null && c.kill("SIGKILL")));
  try {
    const [single] = await freePorts(1);
    children.push(await startRedisServer(single, join(root, "single")));

    const clusterPorts = await freePorts(3);
    for (const port of clusterPorts) {
      children.push(
        await startRedisServer(port, join(root, `cluster-${port}`), [
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          `nodes-${port}.conf`,
          "--cluster-node-timeout",
          "2000",
        ]),
      );
    }
    const create = spawnSync("redis-cli", [
      "--cluster",
      "create",
      ...clusterPorts.map((p) => `127.0.0.1:${p}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ], { encoding: "utf8" });
    if (create.status !== 0) {
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    }
    await waitFor(
      () => clusterPorts.every((p) => /cluster_state:ok/.test(cli(p, "cluster", "info") ?? "")),
      "cluster state ok",
    );

    const [bridgePort] = await freePorts(1);
    const token = `test-token-${process.pid}`;
    const bridge = spawn(process.execPath, ["scripts/upstash_bridge.mjs"], {
      env: {
        ...process.env,
        PORT: String(bridgePort),
        TOKEN: token,
        REDIS_URL: `redis://127.0.0.1:${single}`,
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    children.push(bridge);
    await waitFor(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${bridgePort}/__requests`)).ok;
      } catch {
        return false;
      }
    }, "the Upstash bridge");

    console.log(
      `# services: redis :${single}, cluster :${clusterPorts.join(",")}, upstash bridge :${bridgePort}`,
    );
    return {
      env: {
        TEST_REDIS_URL: `redis://127.0.0.1:${single}`,
        TEST_CLUSTER_URL: `redis://${clusterPorts.map((p) => `127.0.0.1:${p}`).join(",")}`,
        TEST_UPSTASH_URL: `http://127.0.0.1:${bridgePort}`,
        TEST_UPSTASH_TOKEN: token,
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
