// Where a memory-tier hit's time goes: @svc-infra/cache (default copy, and zeroCopy) and the bare `Map` async
// wrapper each run alone in a child process (10,000 warm keys hit in turn, sequential awaits, as the hit
// benchmark's uniform cell) under V8's sampling profiler; the samples of our code are summed per function (a
// built-in such as `Date.now` counts for the function that called it) and given in ns per hit, beside the
// harness's own share (the awaiting loop) and the rest of the process; the median of three interleaved runs.
// Run through `npm run bench`; prints JSON.
//   node bench/memory_profile.mjs [ops]
//   node bench/memory_profile.mjs --child <subject> <ops>   (one profiled run)
import { execFileSync } from "node:child_process";
import { eachSample, profiledRun } from "./_profile.mjs";
import { userValue as value } from "./_value.mjs";

const KEYS = 10_000;
/** Functions listed by name; the rest of our code is summed as one row. */
const LISTED = 8;

/** ns per hit of each of our functions (self time), of the loop that awaits the hits, and of everything else. */
function perFunction(profile, ops) {
  const ours = new Map();
  let harness = 0, rest = 0;
  eachSample(profile, ({ url, functionName }, us) => {
    const ns = us * 1000 / ops; // per hit
    const name = functionName || "(anonymous)";
    if (url.includes("/npm/")) ours.set(name, (ours.get(name) ?? 0) + ns);
    else if (url.endsWith("memory_profile.mjs")) harness += ns;
    else rest += ns;
  });
  const sorted = [...ours].sort((a, b) => b[1] - a[1]);
  const listed = sorted.slice(0, LISTED);
  const others = sorted.slice(LISTED).reduce((sum, [, ns]) => sum + ns, 0);
  return { functions: Object.fromEntries(listed), otherOurs: others, harness, rest };
}

if (process.argv[2] === "--child") {
  const [, , , subject, opsText] = process.argv;
  const ops = Number(opsText);
  let get;
  if (subject === "bare Map") {
    const map = new Map();
    get = async (id) => {
      let v = map.get(id);
      if (v === undefined) map.set(id, v = await value(id)); // as the hit benchmark's wrapper, which awaits its loader
      return v;
    };
  } else {
    const ours = await import("../npm/esm/mod.js");
    const { memoryStore } = await import("../npm/esm/adapters/memory.js");
    const cache = await ours.createCache({
      prefix: "bench",
      store: memoryStore({ maxEntries: KEYS, maxBytes: 2 ** 40 }),
    });
    const read = cache.cacheRead(
      { key: "u:{id}", ttl: 3600, zeroCopy: subject.endsWith("zeroCopy") },
      ({ id }) => value(id),
    );
    get = (id) => read({ id });
  }
  const run = async (n) => {
    for (let k = 0; k < n; k++) await get(k % KEYS);
  };
  await run(ops / 2); // warm-up, every key loaded
  const { ms, profile } = await profiledRun(() => run(ops), 50);
  console.log(JSON.stringify({ hitsPerSec: ops / (ms / 1000), ...perFunction(profile, ops) }));
  process.exit(0);
}

const ops = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = 3;
const subjects = ["bare Map", "@svc-infra/cache", "@svc-infra/cache zeroCopy"];
const runs = Object.fromEntries(subjects.map((s) => [s, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const subject of subjects) { // interleaved: a slow moment of the machine hits every subject alike
    const text = execFileSync(process.execPath, [
      new URL(import.meta.url).pathname,
      "--child",
      subject,
      String(ops),
    ], {
      encoding: "utf8",
    });
    runs[subject].push(JSON.parse(text.trim().split("\n").at(-1)));
  }
}
// Each subject's median run by throughput, whole (its parts add up to it).
const median = (list) => list.sort((a, b) => a.hitsPerSec - b.hitsPerSec)[list.length >> 1];
/** What one `Date.now()` costs on this machine (a virtual machine's clock can cost a syscall). */
function clockNs() {
  let sum = 0;
  const n = 2_000_000, t0 = performance.now();
  for (let i = 0; i < n; i++) sum += Date.now();
  return sum > 0 ? (performance.now() - t0) * 1e6 / n : 0;
}
console.log(
  JSON.stringify({
    clockNs: clockNs(),
    subjects: Object.fromEntries(subjects.map((s) => [s, median(runs[s])])),
  }),
);
