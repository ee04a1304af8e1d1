/**
 * `createCache`: a cache instance of its own (store, namespace, metrics, listeners, invalidation queue).
 *
 * @module
 */

import type { Undelivered } from "../engine/invalidation_queue.ts";
import { type CacheOptions, openCache } from "./open.ts";
import { MetricsRegistry } from "../observe/metrics.ts";
import { CacheEvents } from "../observe/events.ts";
import { Cache } from "./cache.ts";

/**
 * Creates a cache instance with its own store, namespace, metrics and invalidation queue. Every option of
 * `initCache` is accepted; without any it is in-memory. Instances never share state unless they share a
 * store and a namespace (then they see each other's entries and invalidations, as two processes would).
 *
 * @example Two caches in one process
 * ```ts
 * import { createCache } from "@svc-infra/cache";
 * const sessions = await createCache({ prefix: "sessions" });
 * const config = await createCache({ prefix: "config" });
 * await sessions.set("s:1", { user: 1 }, { ttl: 60 });
 * console.log(await sessions.get("s:1"), await config.get("s:1")); // { user: 1 } undefined
 * await Promise.all([sessions.close(), config.close()]);
 * ```
 *
 * @throws {TypeError} a malformed option, as for `initCache`.
 */
export async function createCache(options: CacheOptions = {}): Promise<Cache> {
  const { context, ownedStore } = await openCache(
    options,
    "Cannot create cache",
    new MetricsRegistry(),
    new CacheEvents(),
  );
  let closed: Promise<Undelivered> | undefined;
  return new Cache(() => context, () => closed ??= context.close(ownedStore));
}
