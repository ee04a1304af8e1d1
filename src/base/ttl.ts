/**
 * TTL constants and their environment overrides.
 *
 * @module
 */

import { type Env, readEnv } from "./env.ts";

/** A named TTL, resolved from `CACHE_TTL_*` when the call runs (useful on Workers, whose env arrives late). */
export type TtlName = "short" | "default" | "long";

const DEFAULTS: Record<TtlName, number> = { short: 30, default: 300, long: 3600 };

/** Every TTL name. */
export const TTL_NAMES: readonly TtlName[] = ["short", "default", "long"];

/** A ttl in seconds (0 = do not cache), or a named TTL. */
export type Ttl = number | TtlName;

/**
 * The longest ttl in seconds (about 31,700 years), the same on every store so that a ttl that works in tests
 * on memory works in production. The tightest backend sets it: Deno KV refuses an `expireIn` that ends past
 * about 8.2e15 ms after 1970 (year ~262,000), while Redis and Upstash take a `PX` up to 2^63 - 1 - now
 * (their JSON and RESP numbers stay exact up to 2^53). An entry lives `ttl` (+10 % with smoothExpiry) plus
 * `staleTtl`, each at most this: 2.2e15 ms, within every limit. Longer ttls were silently never cached
 * (Redis: "invalid expire time").
 */
export const MAX_TTL_SECONDS = 1e12;

/** What is wrong with a number of seconds, or `undefined` when it is a valid ttl. */
function ttlProblem(seconds: number): string | undefined {
  if (!Number.isFinite(seconds) || seconds < 0) return "seconds >= 0";
  if (seconds > MAX_TTL_SECONDS) {
    return `at most ${MAX_TTL_SECONDS} seconds (about 31,700 years, what every store honours)`;
  }
  return undefined;
}

/** Reads `CACHE_TTL_SHORT|DEFAULT|LONG` from `env`, falling back to 30 / 300 / 3600 seconds. */
export function namedTtl(name: TtlName, env?: Env): number {
  const raw = readEnv(`CACHE_TTL_${name.toUpperCase()}`, env);
  if (raw === undefined || raw.trim() === "") return DEFAULTS[name];
  const value = Number(raw);
  const problem = ttlProblem(value);
  if (problem) {
    throw new RangeError(
      `Cannot read CACHE_TTL_${name.toUpperCase()}: expected ${problem}, current value is "${raw}"`,
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
  // Own names only: "constructor" or "toString" are in every object, not TTL names.
  if (ttl === undefined || typeof ttl === "string" && Object.hasOwn(DEFAULTS, ttl)) return;
  const problem = typeof ttl === "number" ? ttlProblem(ttl) : "seconds >= 0";
  if (problem) {
    // A string is shown quoted, so "60" does not read as the valid number 60.
    const current = typeof ttl === "string" ? `the string ${JSON.stringify(ttl)}` : String(ttl);
    throw new RangeError(
      `Cannot cache ${what}: ${option} must be ${problem} or "short" | "default" | "long", current value is ${current}`,
    );
  }
}

/**
 * Checks an option given in seconds only (`staleTtl`, `earlyTtl`, `sMaxAge`): a named TTL is refused there,
 * since it would be read as a number.
 */
export function checkSeconds(seconds: number | undefined, what: string, option: string): void {
  if (seconds === undefined) return;
  const problem = typeof seconds === "number" ? ttlProblem(seconds) : "seconds >= 0";
  if (problem) {
    const current = typeof seconds === "string" ? `the string ${JSON.stringify(seconds)}` : String(seconds);
    throw new RangeError(`Cannot cache ${what}: ${option} must be ${problem}, current value is ${current}`);
  }
}
