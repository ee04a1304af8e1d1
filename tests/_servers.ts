/**
 * Real servers owned by one test: a redis-server on a free loopback port that the test may kill and restart,
 * and the Upstash bridge in front of it. (The shared servers of `npm test` are for tests that do not need
 * exclusive use.)
 *
 * @module
 */

/** A free loopback port. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function until(check: () => Promise<boolean>, what: string, ms = 10_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** Runs redis-cli against a port and returns its output. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await new Deno.Command("redis-cli", {
    args: ["-p", String(port), ...args],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  return new TextDecoder().decode(stdout).trim();
}

/** A redis-server this test owns. */
export class RedisServer {
  readonly port: number;
  readonly #extra: string[];
  readonly #dir = Deno.makeTempDirSync();
  #child?: Deno.ChildProcess;

  private constructor(port: number, extra: string[]) {
    this.port = port;
    this.#extra = extra;
  }

  /** Starts a server; `extra` are redis-server arguments such as `["--requirepass", "pw"]`. */
  static async start(extra: string[] = [], port = freePort()): Promise<RedisServer> {
    const server = new RedisServer(port, extra);
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the process on the same port. */
  async restart(): Promise<void> {
    this.#child = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        this.#dir,
        ...this.#extra,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const auth = this.#extra.includes("--requirepass")
      ? ["-a", this.#extra[this.#extra.indexOf("--requirepass") + 1], "--no-auth-warning"]
      : [];
    await until(
      async () => (await redisCli(this.port, ...auth, "ping")) === "PONG",
      `redis-server :${this.port}`,
    );
  }

  /** Kills the process at once (SIGKILL) and waits for it to be gone. */
  async kill(): Promise<void> {
    this.#child?.kill("SIGKILL");
    await this.#child?.status;
    this.#child = undefined;
  }

  /** Counts of commands run since the last reset, from `INFO commandstats`. */
  async commandCounts(): Promise<Record<string, number>> {
    const info = await redisCli(this.port, "info", "commandstats");
    const counts: Record<string, number> = {};
    for (const m of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) counts[m[1]] = Number(m[2]);
    return counts;
  }

  async resetStats(): Promise<void> {
    await redisCli(this.port, "config", "resetstat");
  }

  async stop(): Promise<void> {
    await this.kill();
    Deno.removeSync(this.#dir, { recursive: true });
  }
}

/** A free port whose cluster bus port (+10000) is free and valid too. */
function clusterPort(): number {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 25000);
    try {
      const listeners = [port, port + 10000].map((p) => Deno.listen({ hostname: "127.0.0.1", port: p }));
      listeners.forEach((l) => l.close());
      return port;
    } catch { /* taken: try another */ }
  }
  throw new Error("Cannot find a free cluster port");
}

/** A three-master Redis Cluster this test owns, so it may pause or kill nodes without disturbing others. */
export class RedisCluster {
  readonly nodes: readonly RedisServer[];

  private constructor(nodes: RedisServer[]) {
    this.nodes = nodes;
  }

  static async start(): Promise<RedisCluster> {
    const args = [
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      "nodes.conf",
      "--cluster-node-timeout",
      "2000",
    ];
    const nodes: RedisServer[] = [];
    for (let i = 0; i < 3; i++) nodes.push(await RedisServer.start(args, clusterPort()));
    const create = await new Deno.Command("redis-cli", {
      args: [
        "--cluster",
        "create",
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!create.success) {
      throw new Error(`redis-cli --cluster create failed: ${new TextDecoder().decode(create.stdout)}`);
    }
    await until(
      async () =>
        (await Promise.all(nodes.map((n) => redisCli(n.port, "cluster", "info")))).every((i) =>
          /cluster_state:ok/.test(i)
        ),
      "cluster state ok",
    );
    return new RedisCluster(nodes);
  }

  get url(): string {
    return `redis://${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}`;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}

/** The Upstash bridge (scripts/upstash_bridge.mjs) in front of a redis-server, owned by one test. */
export class UpstashBridge {
  readonly url: string;
  readonly token: string;
  readonly #child: Deno.ChildProcess;

  private constructor(url: string, token: string, child: Deno.ChildProcess) {
    this.url = url;
    this.token = token;
    this.#child = child;
  }

  static async start(redisUrl: string): Promise<UpstashBridge> {
    const port = freePort();
    const token = `token-${crypto.randomUUID()}`;
    const child = new Deno.Command("node", {
      args: ["scripts/upstash_bridge.mjs"],
      env: { PORT: String(port), TOKEN: token, REDIS_URL: redisUrl },
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    const bridge = new UpstashBridge(`http://127.0.0.1:${port}`, token, child);
    await until(async () => {
      try {
        await bridge.requests();
        return true;
      } catch {
        return false;
      }
    }, "the Upstash bridge");
    return bridge;
  }

  /** Upstash requests served so far. */
  async requests(): Promise<number> {
    return (await (await fetch(`${this.url}/__requests`)).json()).requests;
  }

  async stop(): Promise<void> {
    this.#child.kill("SIGTERM");
    await this.#child.status;
  }
}
