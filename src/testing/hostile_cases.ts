/**
 * The conformance cases of hostile input: forged hashed keys, a pathological `keys()` glob, arguments that
 * would render alike, values the serializer would change, ttls no backend keeps. Each is refused with a typed
 * error or kept apart, never served as another key's or another value's entry. Registered by `testAdapter`
 * for every store.
 *
 * @module
 */

import type { CacheStore } from "../store/store.ts";
import type { Cache } from "../api/cache.ts";
import { createCache } from "../api/create_cache.ts";
import { fitKey } from "../keys/template.ts";
import { MAX_TTL_SECONDS } from "../base/ttl.ts";

type WithStore = (title: string, fn: (store: CacheStore, ns: string) => Promise<void>) => void;

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`Conformance: ${message}`);
}

/** Runs `fn` and returns the error it threw (or rejected with), `undefined` when it succeeded. */
async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

function checkThrown(error: unknown, type: ErrorConstructor, pattern: RegExp, what: string) {
  check(
    error instanceof type && pattern.test(error.message),
    `${what}: expected a ${type.name} matching ${pattern}, got ${error}`,
  );
}

/** Registers the hostile-input cases on `withStore`; `settle` waits out an eventual store's propagation. */
export function hostileCases(withStore: WithStore, settle: () => Promise<unknown>): void {
  const withCache = (title: string, fn: (cache: Cache, store: CacheStore) => Promise<void>) =>
    withStore(title, async (store, ns) => {
      const cache = await createCache({ store, prefix: ns, deadlineMs: 5000 });
      try {
        await fn(cache, store);
      } finally {
        await cache.close();
      }
    });

  withCache("a short key spelled as a long key's hashed form is a key of its own", async (cache) => {
    const long = `victim:${"a".repeat(2000)}`;
    await cache.set(long, "victim's value", { ttl: 60 });
    const entryPrefix = `${cache.keyPrefix}e:`;
    const forged = (await fitKey(entryPrefix + long, 1024)).slice(entryPrefix.length);
    check(forged.length < 200 && forged.includes("#"), `the forged key is short: ${forged}`);
    await settle();
    check(await cache.get(long) === "victim's value", "the long key is stored");
    check(await cache.get(forged) === undefined, "the forged key reads nothing");
    await cache.set(forged, "attacker's value", { ttl: 60 });
    await settle();
    check(
      await cache.get(long) === "victim's value",
      "writing the forged key leaves the long key's entry alone",
    );
    check(await cache.get(forged) === "attacker's value", "the forged key is a key of its own");
  });

  withCache("keys(pattern) is linear in the key, whatever the pattern", async (cache, store) => {
    if (!store.scan) return;
    const key = "a".repeat(32);
    await cache.set(key, 1, { ttl: 60 });
    await cache.set("user:1:profile", 1, { ttl: 60 });
    await settle();
    // As a regular expression of `.*`s this backtracks for minutes (9 s for 30 characters, each one ×2.5).
    const started = performance.now();
    const none = await cache.keys(`${"*a".repeat(12)}*b`);
    const ms = performance.now() - started;
    check(none.length === 0, `nothing matches: ${none}`);
    check(ms < 2000, `the listing took ${ms.toFixed(0)} ms`);
    const all = await cache.keys(`${"*a".repeat(12)}*`);
    check(all.length === 1 && all[0] === key, `the key matches: ${all}`);
    const users = await cache.keys("user:*:profile");
    check(users.length === 1 && users[0] === "user:1:profile", `globs still match: ${users}`);
  });

  withCache("arguments that differ get different entries, or a TypeError naming the path", async (cache) => {
    let loads = 0;
    const read = cache.cacheRead({ key: "r:{x}", ttl: 60 }, (_: { x: unknown }) => ({ n: ++loads }));
    // deno-lint-ignore no-sparse-arrays
    const args = [[, 1], ["", 1], [undefined, 1], [""], [], Object.assign(Object.create(null), { a: 1 }), {
      a: 1,
    }];
    const first = [];
    for (const x of args) first.push((await read({ x })).n);
    check(loads === args.length, `each argument loads once: ${loads} loads for ${args.length}`);
    await settle();
    for (const [i, x] of args.entries()) {
      check((await read({ x })).n === first[i], `argument ${i} reads its own entry`);
    }
    checkThrown(
      await thrown(() => read({ x: { [Symbol("s")]: 1 } })),
      TypeError,
      /property "x" has symbol keys/,
      "symbol keys",
    );
    checkThrown(
      await thrown(() => read({ x: Object.assign([1], { named: 2 }) })),
      TypeError,
      /property "x" is an array with named properties/,
      "an array with named properties",
    );
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    checkThrown(await thrown(() => read({ x: deep })), TypeError, /nested deeper than 100 levels/, "depth");
    check(loads === args.length, "refused arguments load nothing");
  });

  withCache("values the serializer would change are refused, not cached as something else", async (cache) => {
    const named = Object.assign([1, 2], { extra: 3 });
    checkThrown(
      await thrown(() => cache.set("v:named", { list: named }, { ttl: 60 })),
      TypeError,
      /an array with named properties cannot be stored exactly/,
      "set",
    );
    let loads = 0;
    const load = () => (loads++, named);
    check(await cache.getOrSet("v:loaded", load, { ttl: 60 }) === named, "the loader's value is returned");
    await settle();
    await cache.getOrSet("v:loaded", load, { ttl: 60 });
    check(loads === 2, `a value that cannot be kept exactly is not cached (loads: ${loads})`);
    check(
      await cache.get("v:named") === undefined && await cache.get("v:loaded") === undefined,
      "nothing stored",
    );
    const bare = Object.assign(Object.create(null), { a: 1 });
    await cache.set("v:bare", bare, { ttl: 60 });
    await settle();
    const back = await cache.get<Record<string, unknown>>("v:bare");
    check(
      back !== undefined && Object.getPrototypeOf(back) === null && back.a === 1,
      "a null prototype is kept",
    );
  });

  withCache("a ttl past what every store keeps is a RangeError; the longest one is kept", async (cache) => {
    for (const options of [{ ttl: 1e20 }, { ttl: 60, staleTtl: 1e20 }, { ttl: MAX_TTL_SECONDS + 1 }]) {
      checkThrown(
        await thrown(() => cache.set("t:long", 1, options)),
        RangeError,
        new RegExp(`at most ${MAX_TTL_SECONDS} seconds`),
        JSON.stringify(options),
      );
      checkThrown(
        await thrown(() => cache.getOrSet("t:long", () => 1, options)),
        RangeError,
        /at most/,
        JSON.stringify(options),
      );
    }
    // The limit is kept by the real backend: longest ttl and grace, with smoothExpiry's +10 %.
    await cache.set("t:max", "kept", { ttl: MAX_TTL_SECONDS, staleTtl: MAX_TTL_SECONDS, smoothExpiry: true });
    await settle();
    check(await cache.get("t:max") === "kept", "an entry with the longest ttl is stored and read back");
  });
}
