// One cold start, in a fresh process (bench/issue29.mjs runs it): importing the cache (Node: the npm build; Deno:
// mod.ts, as from JSR), creating a memory-tier cache and its first cached call (a miss: load and write). Prints
// JSON with the milliseconds of each part. `--profile` (Node): the same under V8's sampling profiler, and where
// its time goes.
const profile = process?.argv?.includes("--profile");
const entry = globalThis.Deno ? "../mod.ts" : "../npm/esm/mod.js";

async function coldCall() {
  const t0 = performance.now();
  const { createCache } = await import(entry);
  const t1 = performance.now();
  const cache = await createCache({ prefix: "cold" });
  const getUser = cache.cacheRead(
    { key: "user:{id}", ttl: 60 },
    ({ id }) => ({ id, name: `user ${id}` }),
  );
  const user = await getUser({ id: 1 });
  const t2 = performance.now();
  if (user.id !== 1) {
    throw new Error(
      "Cannot measure a cold start: the first call returned the wrong value",
    );
  }
  return { importMs: t1 - t0, firstCallMs: t2 - t1, totalMs: t2 - t0 };
}

if (!profile) {
  console.log(JSON.stringify(await coldCall()));
} else {
  const { eachSample, profiledRun } = await import("./_profile.mjs");
  let times;
  const { profile: samples } = await profiledRun(
    async () => times = await coldCall(),
    50,
  );
  const byFunction = new Map(), byFile = new Map();
  let all = 0;
  eachSample(samples, ({ url, functionName }, us) => {
    if (url === "node:inspector") return; // the profiler's own calls
    const file = url.startsWith("node:") ? url : url.split("/").pop();
    const where = url.includes("/npm/esm/")
      ? "our modules"
      : url.startsWith("node:")
      ? "Node's module loader and built-ins"
      : functionName.startsWith("(")
      ? functionName
      : "other";
    const name = `${functionName || "(anonymous)"}${file ? ` (${file})` : ""}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byFile.set(where, (byFile.get(where) ?? 0) + us);
    all += us;
  });
  const top = (map, n) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, us]) => ({
      name,
      ms: us / 1000,
      share: us / all,
    }));
  console.log(
    JSON.stringify({
      ...times,
      sampledMs: all / 1000,
      top: top(byFunction, 8),
      parts: top(byFile, 6),
    }),
  );
}
