/**
 * Tools for people who write adapters or test code that caches: the conformance suite every store passes,
 * and a chaos wrapper for fault tests.
 *
 * @module
 */

export { type ConformanceOptions, testAdapter, type TestRegistrar } from "./conformance.ts";
export { type Fault, type FaultStore, faultStore } from "./fault_store.ts";
export { testFaults } from "./fault_suite.ts";
export type {
  CacheStore,
  Derivation,
  StoreCallOptions,
  StoreCapabilities,
  StoreSlot,
  StoreWrite,
} from "../store.ts";
export type { Clock } from "../clock.ts";
