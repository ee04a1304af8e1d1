/**
 * Tools for people who write adapters or test code that caches: the conformance suite every store passes,
 * and a chaos wrapper for fault tests.
 *
 * @module
 */

export { type ConformanceOptions, testAdapter, type TestRegistrar } from "./conformance.ts";
export { type Fault, type FaultStore, faultStore } from "./fault_store.ts";
export { testFaults } from "./fault_suite.ts";
export * from "../store/store.ts"; // the store contract (types only): what a custom store implements
export type { Clock } from "../base/clock.ts";
