/**
 * Cloudflare's runtime for the store tests: `wrangler dev` (workerd, local, on loopback) running two Workers
 * (tests/fixtures/cloudflare/) that share one Durable Object class, each exposing its own store over HTTP, and
 * a {@linkcode CacheStore} for Deno whose calls are made by those Workers. So the store's Worker side and the
 * object run in workerd; the cache that drives them runs in Deno.
 *
 * @module
 */

import type { CacheStore, StoreCallOptions } from "../src/store/store.ts";
import { freePort } from "./_servers.ts";

/** `wrangler dev` with the given configs, in its own process group, state in a fresh directory. */
export class Wrangler {
  readonly base: string;
  readonly #child: Deno.ChildProcess;
  /** The state directory, when this wrangler made it (and removes it). */
  readonly #state?: string;

  private constructor(base: string, child: Deno.ChildProcess, state?: string) {
    this.base = base;
    this.#child = child;
    this.#state = state;
  }

  /**
   * Starts wrangler in `cwd` with `configs` (the first one is served) and waits until `probe` answers. Its
   * storage is in `persistTo` (kept), or in a fresh directory removed by `stop`. The process group is killed
   * when Deno exits, even if the test that started it did not stop it.
   */
  static async start(
    cwd: string,
    configs: string[],
    probe = "/capabilities",
    persistTo?: string,
  ): Promise<Wrangler> {
    const port = freePort();
    const state = persistTo ?? await Deno.makeTempDir({ prefix: "svc-cache-wrangler-" });
    const args = ["dev", "--port", String(port), "--ip", "127.0.0.1", "--inspector-port", String(freePort())];
    for (const config of configs) args.push("-c", config);
    args.push("--persist-to", state);
    const child = new Deno.Command(new URL("../node_modules/.bin/wrangler", import.meta.url).pathname, {
      args,
      cwd,
      env: { CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
      stdout: Deno.env.get("SVC_WRANGLER_OUTPUT") ? "inherit" : "null",
      stderr: Deno.env.get("SVC_WRANGLER_OUTPUT") ? "inherit" : "null",
      detached: true, // its own process group: wrangler's server and workerd are its children
    }).spawn();
    const wrangler = new Wrangler(`http://127.0.0.1:${port}`, child, persistTo ? undefined : state);
    // Test files that start wrangler for all their cases leave it to this: the group dies, its state goes.
    globalThis.addEventListener("unload", () => {
      wrangler.#kill();
      try {
        if (wrangler.#state) Deno.removeSync(wrangler.#state, { recursive: true });
      } catch { /* removed by stop() */ }
    });
    for (let i = 0; i < 600; i++) {
      try {
        const response = await fetch(wrangler.base + probe);
        await response.body?.cancel();
        if (response.ok) return wrangler;
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    await wrangler.stop();
    throw new Error(`wrangler dev in ${cwd} did not answer within 60 s`);
  }

  #kill(): void {
    try {
      Deno.kill(-this.#child.pid, "SIGKILL"); // the whole group: killing the wrapper alone leaves workerd
    } catch { /* already gone */ }
  }

  /** Stops wrangler and removes its state. */
  async stop(): Promise<void> {
    this.#kill();
    await this.#child.status;
    if (this.#state) await Deno.remove(this.#state, { recursive: true }).catch(() => {});
  }
}

/** Where the test Workers live. */
export const FIXTURE = new URL("./fixtures/cloudflare/", import.meta.url).pathname;

/** Starts the two test Workers (the first serves, the second is reached through it). */
export function startWorkers(): Promise<Wrangler> {
  return Wrangler.start(FIXTURE, ["wrangler.toml", "second/wrangler.toml"]);
}

/**
 * A store whose calls are made in workerd by the test Workers' own store (`kind`: `do`, `do4` for four
 * shards, `kv` for the KV hybrid), alternating between the two Workers call by call (or only through `via`).
 */
export async function workerStore(
  base: string,
  kind = "do",
  via?: "first" | "second",
): Promise<CacheStore & { calls: number }> {
  const response = await fetch(`${base}/capabilities`, { headers: { "x-store": kind } });
  const { name, ...capabilities } = await response.json();
  let turn = 0;
  const call = async (method: string, args: unknown[], options?: StoreCallOptions): Promise<unknown> => {
    store.calls++;
    const second = via === "second" || (via === undefined && turn++ % 2 === 1);
    const reply = await fetch(`${base}/store`, {
      method: "POST",
      headers: second ? { "x-store": kind, "x-via": "second" } : { "x-store": kind },
      body: JSON.stringify({ method, args }),
      signal: options?.signal,
    });
    if (!reply.ok) throw new Error(`${method} failed in the Worker: ${await reply.text()}`);
    return (await reply.json()).value;
  };
  const store: CacheStore & { calls: number } = {
    name: `${name} via workerd`,
    capabilities,
    calls: 0,
    getMany: (keys, o) => call("getMany", [keys], o) as Promise<(string | null)[]>,
    getHeads: (keys, length, o) => call("getHeads", [keys, length], o) as Promise<(string | null)[]>,
    setMany: (writes, o) => call("setMany", [writes], o) as Promise<boolean[]>,
    deleteMany: async (keys, o) => void await call("deleteMany", [keys], o),
    deleteIfStartsWith: (key, prefix, o) => call("deleteIfStartsWith", [key, prefix], o) as Promise<boolean>,
    scan: (prefix, o) => call("scan", [prefix], o) as Promise<string[]>,
  };
  return store;
}
