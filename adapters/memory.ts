/**
 * The in-memory store (the default): bounded (entries and bytes), S3-FIFO eviction, lazy expiry.
 *
 * @example
 * ```ts
 * import { initCache } from "@svc-infra/cache";
 * import { memoryStore } from "@svc-infra/cache/adapters/memory";
 * await initCache({ store: memoryStore({ maxEntries: 500 }) });
 * ```
 *
 * @module
 */

export { memoryStore } from "../src/store/memory_store.ts";
export type { MemoryStore, MemoryStoreOptions } from "../src/store/memory_store.ts";
export * from "../src/store/store.ts"; // the store contract (types only): what a custom store implements
export type { Clock } from "../src/base/clock.ts";
