// The subjects every in-process benchmark measures (bench/peers.mjs and bench/memory_profile.mjs), each used
// as its docs show, and the key sequences of the hit benchmark: one definition, so that a profile measures what
// the hit table measured.
import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { createCache as createCacheManager } from "cache-manager";
import { cachified, totalTtl } from "@epic-web/cachified";
import { LRUCache } from "lru-cache";
import { createCache as createAcd } from "async-cache-dedupe";
import { createCache as createUnkey, DefaultStatefulContext, Namespace } from "@unkey/cache";
import { MemoryStore } from "@unkey/cache/stores";
import * as ours from "../npm/esm/mod.js";
import { memoryStore } from "../npm/esm/adapters/memory.js";
import { lcg, zipfSampler } from "./_random.mjs";
import { userValue as value } from "./_value.mjs";

/** One @svc-infra/cache subject: its own cache instance, sized to hold what the scenario asks for, as the peers are. */
async function ourSubject(tagged, zeroCopy, capacity = 100_000) {
  const cache = await ours.createCache({
    prefix: "bench",
    store: memoryStore({ maxEntries: capacity, maxBytes: 2 ** 40 }),
  });
  let loader = value;
  const get = cache.cacheRead(
    { key: "u:{id}", ttl: 3600, tags: tagged ? ["all"] : undefined, zeroCopy },
    ({ id }) => loader(id),
  );
  return {
    get: (id, load) => (load && (loader = load), get({ id })),
    invalidate: (tag) => cache.invalidateTags([tag]),
  };
}

/** Each subject: a factory giving `get(id, load?)` over a loader, and `invalidate(tag)` where it has tags. */
export const subjects = {
  "bare Map": () => {
    const map = new Map();
    return {
      get: async (id, load = value) => {
        let v = map.get(id);
        if (v === undefined) map.set(id, v = await load(id));
        return v;
      },
    };
  },
  "@svc-infra/cache": (tagged, size) => ourSubject(tagged, false, size),
  "@svc-infra/cache zeroCopy": (_tagged, size) => ourSubject(false, true, size),
  "bentocache": () => {
    const bento = new BentoCache({
      default: "m",
      stores: { m: bentostore().useL1Layer(memoryDriver({ maxItems: 100_000 })) },
    });
    return {
      get: (id, load = value, tagged) =>
        bento.getOrSet({
          key: `u:${id}`,
          ttl: "1h",
          tags: tagged ? ["all"] : undefined,
          factory: () => load(id),
        }),
      invalidate: (tag) => bento.deleteByTag({ tags: [tag] }),
    };
  },
  "cache-manager": () => {
    const cache = createCacheManager();
    return { get: (id, load = value) => cache.wrap(`u:${id}`, () => load(id), 3_600_000) };
  },
  "cachified+lru-cache": () => {
    const lru = new LRUCache({ max: 100_000 });
    const cache = {
      set(key, v) {
        const ttl = totalTtl(v?.metadata);
        return lru.set(key, v, { ttl: ttl === Infinity ? undefined : ttl, start: v?.metadata?.createdTime });
      },
      get: (key) => lru.get(key),
      delete: (key) => lru.delete(key),
    };
    return {
      get: (id, load = value) =>
        cachified({ cache, key: `u:${id}`, ttl: 3_600_000, getFreshValue: () => load(id) }),
    };
  },
  "async-cache-dedupe": (tagged) => {
    const cache = createAcd({
      ttl: 3600,
      storage: { type: "memory", options: { size: 100_000, invalidation: !!tagged } },
    });
    let loader = value;
    cache.define("fetchUser", { references: tagged ? () => ["all"] : undefined }, (id) => loader(id));
    return {
      get: (id, load) => (load && (loader = load), cache.fetchUser(id)),
      invalidate: (tag) => cache.invalidateAll(tag),
    };
  },
  "@unkey/cache": () => {
    const ctx = new DefaultStatefulContext();
    const store = new MemoryStore({ persistentMap: new Map() });
    const cache = createUnkey({
      u: new Namespace(ctx, { stores: [store], fresh: 3_600_000, stale: 7_200_000 }),
    });
    return { get: async (id, load = value) => (await cache.u.swr(String(id), () => load(id))).val };
  },
};
export const peers = Object.keys(subjects).filter((n) =>
  n !== "bare Map" && !n.startsWith("@svc-infra/cache")
);

/** Key sequences the hit benchmark cycles through: uniform over the hot set, or Zipf (s = 0.99) over it. */
export function sequence(size, distribution) {
  const n = 1 << 16;
  if (distribution === "uniform") return Uint32Array.from({ length: n }, (_, i) => i % size);
  const draw = zipfSampler(size, 0.99, lcg(42));
  return Uint32Array.from({ length: n }, draw);
}
