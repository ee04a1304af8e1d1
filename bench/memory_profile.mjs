// Where a memory-tier hit's time goes: @svc-infra/cache (default copy, and zeroCopy), the bare `Map` async
// wrapper and one peer each run alone in a child process under V8's sampling profiler, in one cell of the hit
// benchmark (its subjects and key sequence: N warm keys, uniform or Zipf, sequential awaits); `npm run bench`
// profiles the cell where our ratio to the fastest peer is lowest, against that peer. The samples of our code
// are summed per function (a built-in such as `Date.now` counts for the function that called it) and given in
// ns per hit, beside the peer's code, the harness's own share (the awaiting loop and the subject's wrapper) and
// the rest of the process; the median of three interleaved runs. Prints JSON.
//   node bench/memory_profile.mjs [ops] [size] [distribution] [peer]
//   node bench/memory_profile.mjs --child <subject> <ops> <size> <distribution>   (one profiled run)
import { execFileSync } from "node:child_process";
import { eachSample, profiledRun } from "./_profile.mjs";
import { sequence, subjects as makers } from "./_subjects.mjs";

/** Functions listed by name; the rest of our code is summed as one row. */
const LISTED = 8;

/** ns per hit of each of our functions (self time), of the peer's code, of the harness, and of everything else. */
function perFunction(profile, ops) {
  const ours = new Map();
  let library = 0, harness = 0, rest = 0;
  eachSample(profile, ({ url, functionName }, us) => {
    const ns = us * 1000 / ops; // per hit
    const name = functionName || "(anonymous)";
    if (url.includes("/npm/")) ours.set(name, (ours.get(name) ?? 0) + ns);
    else if (url.includes("/node_modules/")) library += ns;
    else if (url.endsWith("memory_profile.mjs") || url.endsWith("_subjects.mjs")) harness += ns;
    else rest += ns;
  });
  const sorted = [...ours].sort((a, b) => b[1] - a[1]);
  const listed = sorted.slice(0, LISTED);
  const others = sorted.slice(LISTED).reduce((sum, [, ns]) => sum + ns, 0);
  return { functions: Object.fromEntries(listed), otherOurs: others, library, harness, rest };
}

if (process.argv[2] === "--child") {
  const [, , , subject, opsText, sizeText, distribution] = process.argv;
  const ops = Number(opsText), size = Number(sizeText);
  const s = await makers[subject](false, size);
  for (let id = 0; id < size; id++) await s.get(id);
  const ids = sequence(size, distribution);
  const run = async (n) => {
    for (let k = 0; k < n; k++) await s.get(ids[k & 0xffff]);
  };
  await run(ops / 2); // warm-up
  const { ms, profile } = await profiledRun(() => run(ops), 50);
  console.log(JSON.stringify({ hitsPerSec: ops / (ms / 1000), ...perFunction(profile, ops) }));
  process.exit(0);
}

const ops = Number(process.argv[2] ?? 1_000_000);
const size = Number(process.argv[3] ?? 10_000);
const distribution = process.argv[4] ?? "uniform";
const peer = process.argv[5] ?? "async-cache-dedupe";
const ROUNDS = 3;
const subjects = ["bare Map", "@svc-infra/cache", "@svc-infra/cache zeroCopy", peer];
const runs = Object.fromEntries(subjects.map((s) => [s, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const subject of subjects) { // interleaved: a slow moment of the machine hits every subject alike
    const args = [
      new URL(import.meta.url).pathname,
      "--child",
      subject,
      String(ops),
      String(size),
      distribution,
    ];
    const text = execFileSync(process.execPath, args, { encoding: "utf8" });
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
    cell: { size, distribution, peer },
    subjects: Object.fromEntries(subjects.map((s) => [s, median(runs[s])])),
  }),
);
