// Shared by the profiling benchmarks: one run under V8's sampling profiler (through node:inspector, started for
// the measured run only), and the samples attributed to the script frame they belong to.
import { Session } from "node:inspector/promises";

/** Runs `run()` under the sampling profiler (`intervalUs` between samples); its wall time and the profile. */
export async function profiledRun(run, intervalUs) {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: intervalUs });
  await session.post("Profiler.start");
  const t0 = performance.now();
  await run();
  const ms = performance.now() - t0;
  const { profile } = await session.post("Profiler.stop");
  session.disconnect();
  return { ms, profile };
}

/**
 * Calls `visit(frame, µs)` for each sample. A sample in a built-in (no script, such as `JSON.parse`) is given the
 * frame of the script that called it; V8's own entries (`(idle)`, `(garbage collector)`, …) are given as they are.
 */
export function eachSample(profile, visit) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n);
  for (let k = 0; k < profile.samples.length; k++) {
    let n = byId.get(profile.samples[k]);
    if (!n.callFrame.functionName.startsWith("(")) {
      while (n.callFrame.url === "" && parent.has(n.id)) n = parent.get(n.id);
    }
    visit(n.callFrame, profile.timeDeltas[k]);
  }
}
