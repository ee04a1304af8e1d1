/**
 * The two-level cache's push subscriptions (Redis pub/sub, Deno KV watch): kept open on a connection of their
 * own and reopened whenever they drop (a restart, a failover, `CLIENT KILL`, a closed stream), after a backoff
 * on an unreferenced timer. While one is down L1 relies on its staleness bound alone, so messages sent
 * meanwhile may be lost without harm.
 *
 * @module
 */

import { unref } from "../src/base/timers.ts";

const FIRST_RETRY_MS = 50;
const LAST_RETRY_MS = 2000;

/** One open subscription. */
export interface OpenSubscription {
  /** Drops it (never throws). */
  close(): void;
}

/**
 * Keeps a subscription open: `open` subscribes (it throws when it cannot) and calls `dropped` once the
 * subscription is lost later. Resolves once the first attempt settled, whether or not it succeeded
 * (`onConnection` hears that, and every later change).
 */
export async function keepSubscribed(
  open: (dropped: () => void) => Promise<OpenSubscription>,
  onConnection?: (connected: boolean) => void,
): Promise<{ close(): Promise<void> }> {
  let closed = false;
  let current: OpenSubscription | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let delay = FIRST_RETRY_MS;

  const attempt = async (): Promise<boolean> => {
    let opened: OpenSubscription | undefined;
    let lost = false, live = false;
    const dropped = () => {
      if (lost || closed) return;
      lost = true;
      if (!live) return; // still opening: the attempt fails instead
      live = false;
      current = undefined;
      opened!.close();
      onConnection?.(false);
      retryLater();
    };
    try {
      opened = await open(dropped);
    } catch {
      return false;
    }
    if (closed || lost) {
      opened.close();
      return false;
    }
    current = opened;
    live = true;
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

  if (!await attempt()) {
    onConnection?.(false);
    retryLater();
  }
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      current?.close();
      current = undefined;
      return Promise.resolve();
    },
  };
}

/** The invalidated keys a push message carries; `undefined` for anything else. */
export function parseKeys(message: unknown): string[] | undefined {
  try {
    const keys: unknown = typeof message === "string" ? JSON.parse(message) : message;
    return Array.isArray(keys) && keys.every((k) => typeof k === "string") ? keys : undefined;
  } catch {
    return undefined;
  }
}
