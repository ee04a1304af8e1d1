/**
 * `initCache({ url })` → a store. Adapters are loaded with a dynamic `import()`, so the core bundle never
 * contains Redis, Upstash or Deno KV code.
 *
 * @module
 */

import type { CacheStore } from "./store.ts";
import type { Clock } from "../base/clock.ts";
import { memoryStore } from "./memory_store.ts";
import { redactUrl } from "../base/credentials.ts";
import type * as RedisAdapter from "../../adapters/redis.ts";
import type * as UpstashAdapter from "../../adapters/upstash.ts";
import type * as DenoKvAdapter from "../../adapters/deno_kv.ts";
import type { Env } from "../base/env.ts";

/** What a URL needs besides itself. */
export interface UrlContext {
  readonly token?: string;
  readonly clock: Clock;
  readonly env?: Env;
  /** The cache's deadline: it bounds connecting too. */
  readonly deadlineMs: number;
}

/**
 * Where each adapter module lives. The specifiers are held in variables so that bundlers (wrangler, Vercel,
 * esbuild) never pull an adapter and its client into an app that does not use it; the npm build points them
 * at the package's own subpath exports. On edge runtimes, import the adapter and pass `store` instead.
 */
export const ADAPTER_MODULES = {
  redis: "../../adapters/redis.ts",
  upstash: "../../adapters/upstash.ts",
  denoKv: "../../adapters/deno_kv.ts",
};

/** The client packages each adapter needs (optional peer dependencies of the npm package). */
const CLIENTS: Record<keyof typeof ADAPTER_MODULES, { packages: string[]; note?: string }> = {
  redis: { packages: ["@redis/client", "cluster-key-slot"] },
  upstash: { packages: ["@upstash/redis"] },
  denoKv: { packages: ["@deno/kv"], note: " (on Node; Deno has Deno.openKv)" },
};

async function load<T>(name: keyof typeof ADAPTER_MODULES, url: string): Promise<T> {
  const specifier = ADAPTER_MODULES[name];
  try {
    // Bundlers are told not to follow it (webpack warns of a "critical dependency" otherwise).
    return await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier);
  } catch (error) {
    // Only a missing client package is a missing client: a bundle without the adapter is told to pass it.
    throw missingClient(name, url, error, isMissingPackage(error, CLIENTS[name]));
  }
}

/**
 * The one message for an adapter that cannot be loaded: its client package is not installed (`client`), or the
 * adapter itself is not there (an app bundled without it).
 */
function missingClient(
  name: keyof typeof ADAPTER_MODULES,
  url: string,
  error: unknown,
  client = true,
): TypeError {
  const { packages, note = "" } = CLIENTS[name];
  const fix = client
    ? `install its client (npm install ${packages.join(" ")}${note}), or on edge runtimes`
    : "in a bundled app,";
  return new TypeError(
    `Cannot open cache url "${redactUrl(url)}": the ${name} adapter cannot be loaded (${
      (error as Error).message
    }); ${fix} import the adapter from ` +
      `"@svc-infra/cache/adapters/..." and pass it as initCache({ store })`,
    { cause: error },
  );
}

/**
 * `true` for a failed import of one of the adapter's client packages, not installed (Node, Bun and Deno spell
 * it differently); not for the adapter itself missing.
 */
function isMissingPackage(error: unknown, { packages }: { packages: string[] }): boolean {
  const { code, message = "" } = (error ?? {}) as { code?: string; message?: string };
  if (code !== "ERR_MODULE_NOT_FOUND" && !/Cannot find (package|module)/.test(message)) return false;
  return packages.some((name) => message.includes(name));
}

/** Opens the store a URL names. Throws `TypeError` for an unknown scheme or a malformed URL. */
export async function storeFromUrl(url: string, context: UrlContext): Promise<CacheStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case "memory":
    case "mem":
      return memoryStore({ clock: context.clock });
    case "redis":
    case "rediss": {
      const { redisStore } = await load<typeof RedisAdapter>("redis", url);
      return redisStore(url, { connectTimeoutMs: context.deadlineMs });
    }
    case "denokv": {
      // "denokv:" → the default database; "denokv:<path>" passes <path> verbatim ("denokv::memory:").
      const { denoKvStore, openDenoKv } = await load<typeof DenoKvAdapter>("denoKv", url);
      // Off Deno, openDenoKv imports @deno/kv itself: its absence gets the same message as other clients'
      // (on Deno without the flag it says so itself).
      const kv = await openDenoKv(url.slice("denokv:".length) || undefined).catch((error) => {
        throw isMissingPackage(error, CLIENTS.denoKv) ? missingClient("denoKv", url, error) : error;
      });
      return denoKvStore(kv, { closeKv: true });
    }
    case "http":
    case "https":
    case "upstash": {
      const { upstashStore } = await load<typeof UpstashAdapter>("upstash", url);
      return upstashStore({
        url: scheme === "upstash" ? undefined : url,
        token: context.token,
        env: context.env,
        timeoutMs: context.deadlineMs,
      });
    }
    default:
      throw new TypeError(
        `Cannot open cache url "${redactUrl(url)}": unknown scheme "${
          scheme ?? ""
        }" (expected memory:, redis:, rediss:, http(s): for Upstash, upstash:, denokv:)`,
      );
  }
}
