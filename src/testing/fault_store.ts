/**
 * A chaos wrapper around any store, for fault tests: make calls throw, wait, hang, return corrupt data,
 * fail at random, or refuse large values, and switch modes while a test runs.
 *
 * @example
 * ```ts
 * import { faultStore } from "@svc-infra/cache/testing";
 * import { memoryStore } from "@svc-infra/cache/adapters/memory";
 * const store = faultStore(memoryStore());
 * store.fault = { mode: "throw" }; // the backend is down
 * store.fault = { mode: "none" };  // and back
 * ```
 *
 * @module
 */

import type { CacheStore, StoreCallOptions } from "../store/store.ts";

/** What the wrapper does to each call. */
export type Fault =
  | { mode: "none" }
  | { mode: "throw"; message?: string }
  /** Each call waits `ms` first; with `writesOnly`, only writes and deletes do (reads answer at once). */
  | { mode: "delay"; ms: number; writesOnly?: boolean }
  | { mode: "hang" }
  /** Garbles stored values that `match` (by default the cache's entries; tag versions and locks stay intact). */
  | { mode: "corrupt"; match?: (value: string) => boolean }
  | { mode: "flaky"; probability: number; random?: () => number }
  | { mode: "oversize-reject"; maxBytes: number }
  | { mode: "lag"; ms: number }
  /** A full backend (`maxmemory` with `noeviction`): writes fail with an OOM error, reads and deletes work. */
  | { mode: "oom" }
  /**
   * Requests that arrive after the client gave up: each call hangs until its deadline aborts it, and is then
   * applied `ms` later anyway (a delayed network, a paused server).
   */
  | { mode: "late"; ms: number; writesOnly?: boolean }
  /**
   * Reads answered `ms` after the store read its keys, while later requests go through at once: what a Cluster
   * does when a read's keys live on several nodes, one of them slow.
   */
  | { mode: "slow-replies"; ms: number };

/** A store whose behaviour a test controls through `fault`; `calls` counts calls that reached it. */
export interface FaultStore extends CacheStore {
  /** The current fault; change it at any time. */
  fault: Fault;
  /** Calls that reached the wrapper. */
  calls: number;
}

/** Wraps `inner` (which keeps the data) in a controllable fault layer. */
export function faultStore(inner: CacheStore, options: { inProcess?: boolean } = {}): FaultStore {
  const wrapper: FaultStore = {
    name: `fault(${inner.name})`,
    // Remote by default, so the cache applies its deadline and breaker to it.
    capabilities: { ...inner.capabilities, inProcess: options.inProcess ?? false },
    fault: { mode: "none" },
    calls: 0,
    getMany: (keys, o) =>
      guard(o, async () => {
        const f = wrapper.fault;
        if (f.mode === "late" && !f.writesOnly) return abandoned(o, f.ms, () => Promise.resolve());
        const values = await inner.getMany(keys, o);
        if (f.mode === "slow-replies") await new Promise((r) => setTimeout(r, f.ms));
        if (f.mode !== "corrupt") return values;
        const match = f.match ?? ((v: string) => v.startsWith("["));
        return values.map((v) => v === null || !match(v) ? v : `\u0000garbage${v.slice(3, 9)}`);
      }),
    setMany: (writes, o) =>
      guard(o, () => {
        const f = wrapper.fault;
        if (f.mode === "oversize-reject" && writes.some((w) => w.value.length > f.maxBytes)) {
          return Promise.reject(new Error(`ERR value too large (max ${f.maxBytes} bytes)`));
        }
        if (f.mode === "oom") {
          return Promise.reject(new Error("OOM command not allowed when used memory > 'maxmemory'."));
        }
        // An eventually consistent store: the write is acknowledged now and visible later.
        if (f.mode === "lag") return later(f.ms, () => inner.setMany(writes), writes.map(() => true));
        if (f.mode === "late") return abandoned(o, f.ms, () => inner.setMany(writes));
        return inner.setMany(writes, o);
      }, true),
    // Refreshes fail, lag and arrive late as writes do.
    refreshMany: inner.refreshMany &&
      ((refreshes, o) =>
        guard(o, () => {
          const f = wrapper.fault;
          if (f.mode === "oom") {
            return Promise.reject(new Error("OOM command not allowed when used memory > 'maxmemory'."));
          }
          if (f.mode === "lag") {
            return later(f.ms, () => inner.refreshMany!(refreshes), refreshes.map(() => true));
          }
          if (f.mode === "late") return abandoned(o, f.ms, () => inner.refreshMany!(refreshes));
          return inner.refreshMany!(refreshes, o);
        }, true)),
    deleteMany: (keys, o) =>
      guard(o, () => {
        const f = wrapper.fault;
        if (f.mode === "late") return abandoned(o, f.ms, () => inner.deleteMany(keys));
        return f.mode === "lag"
          ? later(f.ms, () => inner.deleteMany(keys), undefined)
          : inner.deleteMany(keys, o);
      }, true),
    deleteIfStartsWith: (key, prefix, o) =>
      guard(o, () => {
        const f = wrapper.fault;
        if (f.mode === "late") return abandoned(o, f.ms, () => inner.deleteIfStartsWith(key, prefix));
        return inner.deleteIfStartsWith(key, prefix, o);
      }),
    scan: inner.scan ? (prefix, o) => guard(o, () => inner.scan!(prefix, o)) : undefined,
    close: () => inner.close?.() ?? Promise.resolve(),
  };

  function later<T>(ms: number, apply: () => Promise<unknown>, ack: T): Promise<T> {
    setTimeout(() => apply().catch(() => {}), ms);
    return Promise.resolve(ack);
  }

  /** Waits for the caller to give up (its deadline), then applies the request `ms` later all the same. */
  function abandoned<T>(
    o: StoreCallOptions | undefined,
    ms: number,
    apply: () => Promise<unknown>,
  ): Promise<T> {
    return new Promise<T>((_, reject) => {
      const giveUp = () => {
        reject(o?.signal?.reason ?? new Error("request abandoned"));
        setTimeout(() => apply().catch(() => {}), ms);
      };
      if (o?.signal?.aborted) giveUp();
      else if (o?.signal) o.signal.addEventListener("abort", giveUp, { once: true });
      else setTimeout(giveUp, ms);
    });
  }

  async function guard<T>(
    o: StoreCallOptions | undefined,
    call: () => Promise<T>,
    writing = false,
  ): Promise<T> {
    wrapper.calls++;
    const f = wrapper.fault;
    if (f.mode === "throw") throw new Error(f.message ?? "ECONNREFUSED: backend down");
    if (f.mode === "flaky" && (f.random ?? Math.random)() < f.probability) {
      throw new Error("ECONNRESET: flaky backend");
    }
    if (f.mode === "hang") {
      await new Promise<void>((_, reject) =>
        o?.signal?.addEventListener("abort", () => reject(o.signal!.reason), { once: true })
      );
    }
    if (f.mode === "delay" && (!f.writesOnly || writing)) await new Promise((r) => setTimeout(r, f.ms));
    return await call();
  }
  return wrapper;
}
