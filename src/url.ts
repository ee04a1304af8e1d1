/**
 * `initCache({ url })` → a store. Adapters are loaded with a dynamic `import()`, so the core bundle never
 * contains Redis, Upstash or Deno KV code.
 *
 * @module
 */

import type { CacheStore } from "./store.ts";
import type { Clock } from "./clock.ts";
import { memoryStore } from "./memory_store.ts";

/** What a URL needs besides itself. */
export interface UrlContext {
  readonly token?: string;
  readonly clock: Clock;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The secrets inside a URL (password), so logs can redact them. */
export function urlSecrets(url: string): string[] {
  const match = /^[a-z]+:\/\/[^/@]*?:([^/@]+)@/i.exec(url);
  return match ? [match[1], decodeURIComponent(match[1])] : [];
}

/** Removes the password from a URL for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^/@:]*:)[^/@]+@/i, "$1***@");
}

/** Opens the store a URL names. Throws `TypeError` for an unknown scheme or a malformed URL. */
export function storeFromUrl(url: string, context: UrlContext): Promise<CacheStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case "memory":
    case "mem":
      return Promise.resolve(memoryStore({ clock: context.clock }));
    case "redis":
    case "rediss":
      return import("../adapters/redis.ts").then(({ redisStore }) => redisStore(url));
    case "denokv":
      // "denokv:" → the default database; "denokv:<path>" passes <path> verbatim ("denokv::memory:").
      return import("../adapters/deno_kv.ts").then(async ({ denoKvStore, openDenoKv }) =>
        denoKvStore(await openDenoKv(url.slice("denokv:".length) || undefined), { closeKv: true })
      );
    case "http":
    case "https":
    case "upstash":
      return import("../adapters/upstash.ts").then(({ upstashStore }) =>
        upstashStore({ url: scheme === "upstash" ? undefined : url, token: context.token, env: context.env })
      );
    default:
      throw new TypeError(
        `Cannot open cache url "${redactUrl(url)}": unknown scheme "${
          scheme ?? ""
        }" (expected memory:, redis:, rediss:, http(s): for Upstash, upstash:, denokv:)`,
      );
  }
}
