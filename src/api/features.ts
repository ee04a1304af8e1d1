/**
 * Features are values a cache is given, made by the feature's own entry point: `twoLevel()` of
 * `@svc-infra/cache/l1`, `sealed()` of `@svc-infra/cache/integrity`, `otel()` of `@svc-infra/cache/telemetry`.
 * The core only calls what the value carries, so an application that does not import a feature does not ship
 * its code, whatever its bundler (one without code splitting would inline an `import()`ed chunk).
 *
 * @module
 */

import type { CacheStore } from "../store/store.ts";
import { type Env, readEnv } from "../base/env.ts";
import type { L1Tier } from "../l1/tier.ts";
import type { L1Host } from "../l1/validator.ts";
import type { Telemetry } from "../telemetry/otel.ts";

/** The features: their option name in `createCache`, and the entry point that makes them. */
export type FeatureName = "l1" | "integrity" | "telemetry";

/**
 * A feature for `createCache`/`initCache`, made by its entry point: `l1: twoLevel()` (from
 * `@svc-infra/cache/l1`), `integrity: sealed()` (`@svc-infra/cache/integrity`), `telemetry: otel()`
 * (`@svc-infra/cache/telemetry`).
 */
export interface CacheFeature<N extends FeatureName> {
  /** Which option takes it. */
  readonly feature: N;
}

/** L1 as the core uses it: its options checked when the cache opens (`what` starts messages). */
export interface L1Plugin extends CacheFeature<"l1"> {
  open(
    what: string,
  ): { readonly maxEntries: number; readonly maxBytes: number; tier(cache: L1Host): L1Tier };
}

/** What seals a store's entries: `onRejected` hears each one that did not open; `remembered` bounds its memo. */
export type Seal = (
  store: CacheStore,
  onRejected: (key: string) => void,
  remembered: { maxEntries?: number; maxBytes?: number },
) => CacheStore;

/** Integrity as the core uses it: keys checked and imported (given, or from `env`) before a connection opens. */
export interface IntegrityPlugin extends CacheFeature<"integrity"> {
  open(what: string, env: Env | undefined): Promise<Seal>;
}

/** Telemetry as the core uses it: meter and tracer found before a connection opens; then one per store. */
export interface TelemetryPlugin extends CacheFeature<"telemetry"> {
  open(what: string): Promise<(store: string) => Telemetry>;
}

/** How each option is written now, for the `TypeError` an old form (`l1: true`) gets. */
const USAGE: Record<FeatureName, string> = {
  l1: `l1: twoLevel({ maxStaleMs }) with twoLevel from "@svc-infra/cache/l1"`,
  integrity:
    `integrity: sealed({ signingKeys, encryptionKeys }) with sealed from "@svc-infra/cache/integrity"`,
  telemetry:
    `telemetry: otel() or otel({ meter, tracer, spans }) with otel from "@svc-infra/cache/telemetry"`,
};

/** The old top-level options of a feature: where they went. */
export const MOVED_TO_FEATURES: Readonly<Record<string, string>> = {
  signingKeys: `keys are given to the integrity feature: ${USAGE.integrity}`,
  encryptionKeys: `keys are given to the integrity feature: ${USAGE.integrity}`,
};

/** The feature given as option `name`, checked: `undefined` when omitted, else a `TypeError` saying what to write. */
export function pluggedFeature<P extends CacheFeature<FeatureName>>(
  value: unknown,
  name: P["feature"],
  what: string,
): P | undefined {
  if (value === undefined) return undefined;
  const given = value as Partial<L1Plugin> | null;
  if (typeof given === "object" && given?.feature === name && typeof given.open === "function") {
    return value as P;
  }
  const current = typeof value === "function"
    ? "a function (call it)"
    : typeof value === "object" && value !== null
    ? `an object${typeof given?.feature === "string" ? ` made for ${given.feature}` : ""}`
    : JSON.stringify(value);
  throw new TypeError(
    `${what}: ${name} takes the feature its entry point makes; write ${
      USAGE[name]
    }, current value is ${current}`,
  );
}

/** A value the environment holds that only the integrity feature reads: refused without it, never ignored. */
export function checkUnreadKeys(
  integrity: IntegrityPlugin | undefined,
  env: Env | undefined,
  what: string,
): void {
  if (integrity) return;
  for (const name of ["CACHE_SIGNING_KEYS", "CACHE_ENCRYPTION_KEYS"]) {
    if (readEnv(name, env)) {
      throw new TypeError(
        `${what}: ${name} is set, but entries are sealed only by the integrity feature; write ${USAGE.integrity} (sealed() reads ${name})`,
      );
    }
  }
}
