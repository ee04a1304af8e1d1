/**
 * A TCP proxy a test controls: `cut()` drops every connection and refuses new ones (a network partition),
 * `restore()` lets traffic through again; `delayMs` holds each request chunk that long before it reaches the
 * server (in order), so requests can arrive after the client gave up on them. `halfOpen()` makes connections
 * swallow bytes while they stay open (nothing tells either end), `heal()` lets new connections through again;
 * `dripMs` hands the server's replies to the client one byte at a time.
 *
 * @module
 */

import { freePort } from "./_servers.ts";

/** Which way a half-open connection swallows bytes: to the server, to the client, or both. */
export type Direction = "up" | "down" | "both";

/** One proxied connection: what it swallows. */
interface Pipe {
  up: boolean;
  down: boolean;
}

export class TcpProxy {
  readonly port = freePort();
  /** Added latency of client→server traffic; change it at any time. */
  delayMs = 0;
  /** When above 0, server→client bytes travel one per `dripMs` (a server that answers, very slowly). */
  dripMs = 0;
  /** Connections accepted so far. */
  accepted = 0;
  #cut = false;
  #halfOpen?: Direction;
  #open = new Set<Deno.Conn>();
  #pipes = new Set<Pipe>();
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
      this.accepted++;
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
    const pipe: Pipe = { up: false, down: false };
    if (this.#halfOpen) swallow(pipe, this.#halfOpen);
    this.#pipes.add(pipe);
    const close = () => {
      this.#pipes.delete(pipe);
      for (const c of [client, server]) {
        if (this.#open.delete(c)) {
          try {
            c.close();
          } catch { /* already closed */ }
        }
      }
    };
    const up = new TransformStream<Uint8Array, Uint8Array>({
      transform: async (chunk, out) => {
        if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
        if (!pipe.up) out.enqueue(chunk);
      },
    });
    const down = new TransformStream<Uint8Array, Uint8Array>({
      transform: async (chunk, out) => {
        for (let i = 0; i < chunk.length && this.dripMs > 0 && !pipe.down; i++) {
          out.enqueue(chunk.slice(i, i + 1));
          await new Promise((r) => setTimeout(r, this.dripMs));
        }
        if (this.dripMs === 0 && !pipe.down) out.enqueue(chunk);
      },
    });
    await Promise.allSettled([
      client.readable.pipeThrough(up).pipeTo(server.writable),
      server.readable.pipeThrough(down).pipeTo(client.writable),
    ]);
    close();
  }

  /**
   * Every open connection, and each new one until `heal()`, swallows the bytes going `direction` from now on
   * while it stays open: a half-open socket, which neither end is told about. A connection that swallowed
   * stays so (the bytes it lost cannot come back).
   */
  halfOpen(direction: Direction = "both"): void {
    this.#halfOpen = direction;
    for (const pipe of this.#pipes) swallow(pipe, direction);
  }

  /** New connections work again (those made half-open stay so). */
  heal(): void {
    this.#halfOpen = undefined;
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

function swallow(pipe: Pipe, direction: Direction): void {
  if (direction !== "down") pipe.up = true;
  if (direction !== "up") pipe.down = true;
}
