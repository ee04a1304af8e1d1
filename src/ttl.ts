/**
 * TTL constants and their environment overrides.
 *
 * @module
 */

import { type Env, readEnv } from "./env.ts";

/** A named TTL, resolved from `CACHE_TTL_*` when the call runs (useful on Workers, whose env arrives late). */
export type TtlName = "short" | "default" | "long";

const DEFAULTS: Record<TtlName, number> = { short: 30, default: 300, long: 3600 };

/** A ttl in seconds (0 = do not cache), or a named TTL. */
export type Ttl = number | TtlName;

/** Reads `CACHE_TTL_SHORT|DEFAULT|LONG` from `env`, falling back to 30 / 300 / 3600 seconds. */
export function namedTtl(name: TtlName, env?: Env): number {
  const raw = readEnv(`CACHE_TTL_${name.toUpperCase()}`, env);
  if (raw === undefined || raw.trim() === "") return DEFAULTS[name];
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(
      `Cannot read CACHE_TTL_${name.toUpperCase()}: expected seconds >= 0, current value is "${raw}"`,
    );
  }
  return value;
}

/** 30 seconds, or `CACHE_TTL_SHORT` read when this module loads. */
export const TTL_SHORT: number = namedTtl("short");
/** 5 minutes, or `CACHE_TTL_DEFAULT` read when this module loads. `0` disables caching. */
export const TTL_DEFAULT: number = namedTtl("default");
/** 1 hour, or `CACHE_TTL_LONG` read when this module loads. */
export const TTL_LONG: number = namedTtl("long");

/** Checks a ttl given in code; `what` names the function for the error message. */
export function checkTtl(ttl: Ttl | undefined, what: string, option = "ttl"): void {
  if (ttl === undefined || typeof ttl === "string" && ttl in DEFAULTS) return;
  if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0) {
    // A string is shown quoted, so "60" does not read as the valid number 60.
    const current = typeof ttl === "string" ? `the string ${JSON.stringify(ttl)}` : String(ttl);
    throw new RangeError(
      `Cannot cache ${what}: ${option} must be seconds >= 0 or "short" | "default" | "long", current value is ${current}`,
    );
  }
}
