/**
 * Conditional refresh with the loader's context: a local HTTP server answers with an ETag, and 304 when the
 * cached copy is current. An expired entry is kept for its grace (`staleTtl`) and refreshed with
 * `if-none-match`; a 304 keeps it (`ctx.notModified()`). A 404 is cached for 30 s (`ctx.setTtl`). In memory, or
 * on the backend CACHE_URL names.
 *
 * @module
 */

import { createCache } from "../mod.ts";

const url = Deno.env.get("CACHE_URL") || undefined, token = Deno.env.get("CACHE_TOKEN") || undefined;
const prefix = `${Deno.env.get("CACHE_PREFIX") ?? "example"}-etag`;
let now = Date.now(); // the cache's clock, moved by hand to expire entries
const cache = await createCache({ url, token, prefix, clock: { now: () => now } });

// The origin: one user, its version in the ETag.
const users = new Map([[1, { id: 1, name: "Ada", draft: false }]]);
let version = 1, full = 0, unchanged = 0;
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
  const user = users.get(Number(new URL(request.url).pathname.split("/")[2]));
  if (!user) return new Response(null, { status: 404 });
  const etag = `"v${version}"`;
  if (request.headers.get("if-none-match") === etag) return unchanged++, new Response(null, { status: 304 });
  full++;
  return Response.json(user, { headers: { etag } });
});
const origin = `http://127.0.0.1:${server.addr.port}`;

type User = { id: number; name: string; draft: boolean };
// Past its ttl an entry stays for staleTtl: the refresh then has it as ctx.stale (this caller waits for it).
const options = { key: "user:{id}", ttl: 60, staleTtl: 600, timeoutMs: 5000 } as const;
const getUser = cache.cacheRead(options, async ({ id }: { id: number }, ctx) => {
  const etag = ctx.stale?.etag;
  const r = await fetch(`${origin}/users/${id}`, { headers: etag ? { "if-none-match": etag } : {} });
  if (r.status === 304) return ctx.notModified(); // keep the stale value, fresh again for 60 s
  if (r.status === 404) {
    ctx.setTtl(30); // adaptive ttl
    return null;
  }
  ctx.setEtag(r.headers.get("etag")); // stored with the entry, offered as ctx.stale.etag later
  const user: User = await r.json();
  if (user.draft) ctx.skip(); // returned, not cached
  return user;
});

const counts = () => `(full responses: ${full}, 304s: ${unchanged})`;
console.log(`👤 ${(await getUser({ id: 1 }))?.name} ${counts()}`);
console.log(`⚡ ${(await getUser({ id: 1 }))?.name} from the cache ${counts()}`);
now += 61_000;
console.log(`🔁 ${(await getUser({ id: 1 }))?.name} after expiry, not modified ${counts()}`);
now += 61_000;
version = 2;
users.set(1, { id: 1, name: "Ada Lovelace", draft: false });
console.log(`✏️ ${(await getUser({ id: 1 }))?.name} after a change ${counts()}`);
console.log(`🚫 user 2: ${await getUser({ id: 2 })}`);
await server.shutdown();
await cache.close();
