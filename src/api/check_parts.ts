/**
 * The check of the parts a cache is given to call into (a store, a clock, a random source): a wrong one is a
 * `TypeError` naming it when the cache opens, not a failure of every later call.
 *
 * @module
 */

import { checkMethods } from "../base/shape.ts";

/** Throws `TypeError` for a store, clock or random source of the wrong shape (`null` stands for the default). */
export function checkParts(
  { store, clock, random }: { store?: object; clock?: object; random?: unknown },
  what: string,
): void {
  const methods = ["getMany", "setMany", "deleteMany", "deleteIfStartsWith"];
  const capabilities = store != null
    ? (checkMethods(what, "a store", store, methods) as { capabilities?: unknown }).capabilities
    : {};
  if (typeof capabilities !== "object" || capabilities === null) {
    throw new TypeError(`${what}: expected a store, current value is an object without capabilities`);
  }
  if (clock != null) checkMethods(what, "a clock ({ now: () => milliseconds })", clock, ["now"]);
  if (random != null && typeof random !== "function") {
    throw new TypeError(
      `${what}: random must be a function returning [0, 1), current value is ${typeof random}`,
    );
  }
}
