/**
 * The two-level cache's push on Redis: a subscription on a connection of its own that never holds the
 * process and is reopened whenever it drops (a restart, a failover, `CLIENT KILL`), after a backoff on an
 * unreferenced timer. While it is down L1 relies on its staleness bound alone, so messages published
 * meanwhile may be lost without harm.
 *
 * @module
 */

import type { RedisSubscriber } from "./redis.ts";
import { unref } from "../src/timers.ts";

const FIRST_RETRY_MS = 50;
const LAST_RETRY_MS = 2000;

/**
 * Subscribes `listener` to `channel` on connections made by `open` (a new, unconnected client each time);
 * resolves once the first attempt settled, whether or not it succeeded (`onConnection` says which).
 */
export async function subscribeKeys(
  open: () => Promise<RedisSubscriber>,
  channel: string,
  listener: (keys: string[]) => void,
  onConnection?: (connected: boolean) => void,
): Promise<{ close(): Promise<void> }> {
  let closed = false;
  let current: RedisSubscriber | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let delay = FIRST_RETRY_MS;

  const onMessage = (message: string) => {
    const keys = parseKeys(message);
    if (keys) listener(keys);
  };
  const attempt = async (): Promise<boolean> => {
    let subscriber: RedisSubscriber | undefined;
    try {
      const opened = subscriber = await open();
      // node-redis reconnects by itself while the store has calls in flight; once it gives up (isOpen false
      // on an error), this reopens it.
      opened.on("error", () => {
        if (!opened.isOpen && current === opened) dropped();
      });
      opened.unref?.();
      await opened.connect();
      await opened.subscribe(channel, onMessage);
    } catch {
      destroy(subscriber);
      return false;
    }
    if (closed) {
      destroy(subscriber);
      return false;
    }
    current = subscriber;
    delay = FIRST_RETRY_MS;
    onConnection?.(true);
    return true;
  };
  const retryLater = () => {
    if (closed) return;
    timer = setTimeout(async () => {
      if (await attempt()) return;
      delay = Math.min(delay * 2, LAST_RETRY_MS);
      retryLater();
    }, delay);
    unref(timer);
  };
  const dropped = () => {
    destroy(current);
    current = undefined;
    onConnection?.(false);
    retryLater();
  };

  if (!await attempt()) {
    onConnection?.(false);
    retryLater();
  }
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      destroy(current);
      current = undefined;
      return Promise.resolve();
    },
  };
}

function destroy(subscriber: RedisSubscriber | undefined): void {
  try {
    subscriber?.destroy();
  } catch { /* already closed: it had stopped reconnecting */ }
}

function parseKeys(message: string): string[] | undefined {
  try {
    const keys: unknown = JSON.parse(message);
    return Array.isArray(keys) && keys.every((k) => typeof k === "string") ? keys : undefined;
  } catch {
    return undefined;
  }
}
