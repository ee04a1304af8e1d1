#!/usr/bin/env node
// The whole test suite in one command (`npm test`): static checks, the backends the tests need (started here
// and stopped at the end, also on failure), every Deno test file, and the Node-hosted suites. Ends with the
// line `N passed, N failed`.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startServices } from "./services.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
const deno = join(root, "node_modules/.bin/deno");
const results = { passed: 0, failed: 0 };
// Every process this run starts inherits the marker, so the run can find what outlived it (orphans included).
const RUN_MARKER = `SVC_CACHE_TEST_RUN=${randomUUID()}`;
process.env.SVC_CACHE_TEST_RUN = RUN_MARKER.split("=")[1];
const failures = [];

function ensureInstalled() {
  if (existsSync(deno)) return;
  console.log("# node_modules missing: running npm install");
  const r = spawnSync("npm", ["install", "--no-audit", "--no-fund"], { stdio: "inherit" });
  if (r.status !== 0) throw new Error("npm install failed");
}

/**
 * Runs a command, streaming its output (or, `quiet`, printing it only when the command fails: test output is
 * for failures); resolves with its exit code and captured text.
 */
function run(cmd, args, env = {}, { quiet = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    const keep = (chunk, out) => {
      text += chunk;
      if (!quiet) out.write(chunk);
    };
    child.stdout.on("data", (c) => keep(c, process.stdout));
    child.stderr.on("data", (c) => keep(c, process.stderr));
    child.on("close", (code) => {
      if (quiet && code !== 0) process.stdout.write(text);
      resolve({ code: code ?? 1, text });
    });
  });
}

function record(name, ok) {
  if (ok) results.passed++;
  else {
    results.failed++;
    failures.push(name);
  }
}

/** Adds the counts from Deno's closing line `ok | 12 passed (3 steps) | 0 failed`. */
function recordDeno(name, { code, text }) {
  // deno-lint-ignore no-control-regex
  const plain = text.replace(/\x1b\[[0-9;]*m/g, "");
  const summary = [...plain.matchAll(/(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/g)].at(-1);
  if (!summary) return record(`${name} (no summary; exit ${code})`, false);
  results.passed += Number(summary[1]);
  results.failed += Number(summary[2]);
  if (Number(summary[2]) > 0 || code !== 0) failures.push(name);
  if (code !== 0 && Number(summary[2]) === 0) results.failed++;
}

async function main() {
  ensureInstalled();
  // The npm build first, before anything here creates folders, so a fresh clone's build is what runs; and the
  // Node examples that the checks see import it.
  console.log("# npm build");
  record("npm build (npm-build.ts)", (await run(deno, ["run", "-A", "npm-build.ts"])).code === 0);
  mkdirSync(".tmp", { recursive: true });
  console.log("# static checks");
  record("deno fmt --check", (await run(deno, ["fmt", "--check"])).code === 0);
  record("deno lint", (await run(deno, ["lint"])).code === 0);
  // Imports point down the layers of scripts/layers.mjs and close no cycle (type-only imports included).
  record(
    "import layers (scripts/layers.mjs)",
    (await run(process.execPath, ["scripts/layers.mjs"])).code === 0,
  );
  // bench/*.mjs are Node scripts whose peers are installed by `npm run bench` only: check the Deno benches.
  const benches = readdirSync("bench").filter((f) => f.endsWith(".ts")).map((f) => join("bench", f));
  const typed = ["mod.ts", "adapters", "src", "tests", "examples", "npm-build.ts", ...benches];
  record("deno check", (await run(deno, ["check", ...typed])).code === 0);
  // Every TypeScript block of the README and the guides type-checks against the API as it is.
  const docs = [
    "README.md",
    ...readdirSync("docs").filter((f) => f.endsWith(".md")).map((f) => join("docs", f)),
  ];
  record(
    "deno check --doc-only (README.md, docs/)",
    (await run(deno, ["check", "--doc-only", ...docs])).code === 0,
  );
  // Each entry on its own, as JSR documents it. Its resolver prints warnings about @types/node that are not
  // ours: output is shown only if the lint fails.
  for (const file of exportedFiles()) {
    const docLint = await run(deno, ["doc", "--lint", file], {}, { quiet: true });
    record(`deno doc --lint ${file}`, docLint.code === 0);
  }
  // JSR is the recommended way in for Deno: the package must stay publishable (a dry run works offline).
  const publish = await run(deno, ["publish", "--dry-run", "--allow-dirty"], {}, { quiet: true });
  record("deno publish --dry-run", publish.code === 0);

  const services = await startServices(join(root, ".tmp"));
  try {
    console.log("# deno tests");
    const denoTests = await run(deno, [
      "test",
      "-A",
      "--parallel",
      "--v8-flags=--expose-gc", // memory-bound tests measure retained heap
      "--doc",
      "mod.ts",
      "src/",
      "adapters/",
      "tests/",
    ], {
      ...services.env,
      NO_COLOR: "1",
    });
    recordDeno("deno test", denoTests);
    console.log("# node tests (node --test on esbuild bundles of tests/node/*.node.ts)");
    for (const file of readdirSync("tests/node").filter((f) => f.endsWith(".node.ts"))) {
      recordNode(`node ${file}`, await runNodeTest(join("tests/node", file), services.env));
    }
    (await import("esbuild")).stop(); // its service process would outlive the run
  } finally {
    await services.stop();
  }
  record("no process started by the tests outlives them", checkLeftovers());
  if (failures.length) console.log(`# failed: ${failures.join("; ")}`);
  console.log(`${results.passed} passed, ${results.failed} failed`);
  process.exitCode = results.failed > 0 ? 1 : 0;
}

/**
 * Finds processes that carry this run's marker in their environment (Linux `/proc`), reports and ends them.
 * `true` when there were none.
 */
function checkLeftovers() {
  if (!existsSync("/proc/self/environ")) return true;
  const left = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)) {
    try {
      if (!readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(RUN_MARKER)) continue;
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "latin1"))) continue; // exited, not reaped
      left.push({
        pid: Number(pid),
        cmd: readFileSync(`/proc/${pid}/cmdline`, "latin1").replaceAll("\0", " "),
      });
    } catch { /* gone meanwhile, or not ours to read */ }
  }
  for (const { pid, cmd } of left) {
    console.log(`# still running after the tests: ${pid} ${cmd.slice(0, 160)}`);
    try {
      process.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
  return left.length === 0;
}

/** Bundles a Node test file (dependencies stay external) and runs it with `node --test`. */
async function runNodeTest(file, env) {
  const { build } = await import("esbuild");
  const outfile = join(".tmp/node", file.replace(/\.ts$/, ".mjs"));
  await build({
    entryPoints: [file],
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    outfile,
    logLevel: "warning",
  });
  return await run(process.execPath, ["--test", "--test-reporter=tap", outfile], env);
}

/** Adds the counts from node's TAP summary (`# pass N`, `# fail N`). */
function recordNode(name, { code, text }) {
  const pass = /^# pass (\d+)$/m.exec(text), fail = /^# fail (\d+)$/m.exec(text);
  if (!pass || !fail) return record(`${name} (no summary; exit ${code})`, false);
  results.passed += Number(pass[1]);
  results.failed += Number(fail[1]);
  if (Number(fail[1]) > 0 || code !== 0) {
    failures.push(`${name}: ${[...text.matchAll(/^\s*not ok \d+ - (.*)$/gm)].map((m) => m[1]).join("; ")}`);
  }
  if (code !== 0 && Number(fail[1]) === 0) results.failed++;
}

/** Files in deno.json's exports, so their public docs are linted. */
function exportedFiles() {
  return Object.values(JSON.parse(readFileSync("deno.json", "utf8")).exports);
}

main().catch((error) => {
  console.error(error);
  console.log(`${results.passed} passed, ${results.failed + 1} failed`);
  process.exitCode = 1;
});
