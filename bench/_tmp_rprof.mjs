import { eachSample, profiledRun } from "./_profile.mjs";
const [url, subject, callersArg, opsArg] = process.argv.slice(2);
const KEYS = 1000,
  callers = Number(callersArg ?? 1),
  ops = Number(opsArg ?? 20000);
const value = (id) => ({
  id,
  name: `user ${id}`,
  email: `user${id}@example.com`,
  roles: ["reader"],
});
const ours = await import("../npm/esm/mod.js");
const { createClient } = await import("@redis/client");
const prefix = `tprof${process.pid}`;
const client = createClient({ url });
await client.connect();
for (let id = 0; id < KEYS; id++) {
  await client.set(`${prefix}:raw:${id}`, JSON.stringify(value(id)));
}
const cache = await ours.createCache({ url, prefix });
const getUser = cache.cacheRead({
  key: "user:{id}",
  tags: ["user:{id}"],
  ttl: 3600,
}, ({ id }) => value(id));
for (let id = 0; id < KEYS; id++) await getUser({ id });
let i = 0;
const op = subject === "raw"
  ? async () => JSON.parse(String(await client.get(`${prefix}:raw:${i++ % KEYS}`)))
  : subject === "mget"
  ? async () =>
    JSON.parse(
      String(
        (await client.mGet([
          `${prefix}:raw:${i % KEYS}`,
          `${prefix}:raw:${(i++ + 1) % KEYS}`,
        ]))[0],
      ),
    )
  : () => getUser({ id: i++ % KEYS });
const run = async (n) => {
  let left = n;
  await Promise.all(Array.from({ length: callers }, async () => {
    while (left-- > 0) await op();
  }));
};
await run(ops / 4);
const { ms, profile } = await profiledRun(() => run(ops), 100);
const fns = new Map();
let total = 0;
eachSample(profile, ({ url, functionName, lineNumber }, dt) => {
  const part = url.includes("/npm/")
    ? "ours"
    : url.includes("@redis")
    ? "client"
    : functionName.startsWith("(")
    ? "v8"
    : "node";
  const k = part + " " + (functionName || "(anon)") + " " +
    url.replace(/.*\//, "") + ":" + lineNumber;
  fns.set(k, (fns.get(k) ?? 0) + dt);
  total += dt;
});
console.log(
  subject,
  "hits/s",
  Math.round(ops / (ms / 1000)),
  "us/hit",
  (ms * 1000 / ops).toFixed(1),
);
const parts = {};
for (const [k, v] of fns) {
  const p = k.split(" ")[0];
  parts[p] = (parts[p] ?? 0) + v;
}
console.log(
  Object.fromEntries(
    Object.entries(parts).map((
      [k, v],
    ) => [k, (v / total * ms * 1000 / ops).toFixed(2)]),
  ),
);
for (const [k, v] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, 80)) {
  console.log((v / total * ms * 1000 / ops).toFixed(2).padStart(7), k);
}
const lines = new Map();
for (const n of profile.nodes) {
  if (n.callFrame.url.includes("/npm/") && n.positionTicks) {
    for (const t of n.positionTicks) {
      const k = n.callFrame.functionName + " " +
        n.callFrame.url.replace(/.*\//, "") + ":" + t.line;
      lines.set(k, (lines.get(k) ?? 0) + t.ticks);
    }
  }
}
const tickUs = ms * 1000 / profile.samples.length;
for (const [k, v] of [...lines].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log("LINE", (v * tickUs * 1 / ops).toFixed(2), k);
}
await cache.close();
await client.close();
process.exit(0);
