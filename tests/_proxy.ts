/**
 * A TCP proxy a test controls: `cut()` drops every connection and refuses new ones (a network partition),
 * `restore()` lets traffic through again; `delayMs` holds each request chunk that long before it reaches the
 * server (in order), so requests can arrive after the client gave up on them.
 *
 * @module
 */

import { freePort } from "./_servers.ts";

export class TcpProxy {
  readonly port = freePort();
  /** Added latency of client→server traffic; change it at any time. */
  delayMs = 0;
  #cut = false;
  #open = new Set<Deno.Conn>();
  #listener: Deno.Listener;

  constructor(targetPort: number) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    this.#accept(targetPort);
  }

  async #accept(targetPort: number) {
    for await (const client of this.#listener) {
      if (this.#cut) {
        client.close();
        continue;
      }
      this.#pipe(client, targetPort).catch(() => {});
    }
  }

  async #pipe(client: Deno.Conn, targetPort: number) {
    let server: Deno.Conn;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
    } catch {
      client.close(); // the server is down: the client must see a refused connection, not a silent one
      return;
    }
    this.#open.add(client).add(server);
    const close = () => {
      for (const c of [client, server]) {
        if (this.#open.delete(c)) {
          try {
            c.close();
          } catch { /* already closed */ }
        }
      }
    };
    const delay = new TransformStream<Uint8Array, Uint8Array>({
      transform: async (chunk, out) => {
        if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
        out.enqueue(chunk);
      },
    });
    await Promise.allSettled([
      client.readable.pipeThrough(delay).pipeTo(server.writable),
      server.readable.pipeTo(client.writable),
    ]);
    close();
  }

  /** Drops every connection and refuses new ones. */
  cut(): void {
    this.#cut = true;
    for (const c of this.#open) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    this.#open.clear();
  }

  restore(): void {
    this.#cut = false;
  }

  close(): void {
    this.cut();
    this.#listener.close();
  }
}
