/**
 * What a caller awaits: the call's result, or sooner a rejection when the call's `signal` aborts (the load
 * goes on for the other callers and stores its value).
 *
 * @module
 */

import type { CallOptions } from "./options.ts";

/** `result`, or sooner a rejection when `call.signal` aborts. */
export function answer<R>(result: Promise<R>, call: CallOptions | undefined): Promise<R> {
  return call?.signal ? abortable(result, call.signal) : result;
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then((value) => {
      signal.removeEventListener("abort", onAbort);
      resolve(value);
    }, (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
  });
}
