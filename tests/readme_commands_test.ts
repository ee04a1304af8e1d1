/**
 * Every command the README and the guides in `docs/` show, run as written in a fresh tree: the repository's
 * files (tracked and new, no build output, no `.tmp/`, no `npm/`) copied to a new folder and committed to a new
 * git repository there, with only `node_modules` shared. Commands are collected from the documents themselves;
 * one the test does not know fails it, so a new command cannot go untested. Servers are started in their own
 * process group, asked for a user twice (MISS, then HIT), and stopped. Afterwards `git status` in the tree
 * must be clean: no command leaves a file behind that the repository does not ignore.
 */
import assert from "node:assert/strict";
import { freePort } from "./_servers.ts";

const root = new URL("..", import.meta.url).pathname;
const docs = [
  `${root}README.md`,
  ...[...Deno.readDirSync(`${root}docs`)].map((f) => `${root}docs/${f.name}`),
];
const readme = docs.map((file) => Deno.readTextFileSync(file)).join("\n");

/** Shell commands in the documents: `sh` blocks, line by line, and inline code that starts like a command. */
function readmeCommands(): string[] {
  const found = new Set<string>();
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1].split("\n")) {
      const command = line.replace(/\s+#.*$/, "").trim();
      if (command) found.add(command);
    }
  }
  for (const span of readme.matchAll(/`([^`\n]+)`/g)) {
    if (/^(npm|npx|node|cd|deno|[A-Z_]+=\S+ (npm|npx)) /.test(span[1])) found.add(span[1]);
  }
  return [...found];
}

type Check =
  | { run: "exit"; expect?: RegExp; env?: Record<string, string>; as?: (command: string) => string }
  | {
    run: "server";
    port: (port: number, command: string) => string;
    env?: (port: number) => Record<string, string>;
  }
  | { run: "no"; why: string };

/** What each command must do; `npm install && ` prefixes run without the install (the suite's own ran it). */
const checks: Record<string, Check> = {
  "npm install && npm run demo": { run: "exit", expect: /📊 Cache hits: 1\n/ },
  "npm run demo": { run: "exit", expect: /📊 Cache hits: 1\n/ },
  "npm install && npm test": {
    run: "no",
    why: "it is this suite (CI runs exactly it, from a clean checkout)",
  },
  "npm test": { run: "no", why: "it is this suite" },
  "CHECKER_MS=60000 npm test": { run: "no", why: "this suite with a longer soak" },
  "npm install @svc-infra/cache": {
    run: "no",
    why: "answers 404 until the package is published (the README says so)",
  },
  "npx deno": { run: "no", why: "named (the repository's Deno); the commands that use it run here" },
  "npm pack": { run: "no", why: "named; the tarball line runs it, and tests/node/npm_package.node.ts" },
  "deno lint": { run: "no", why: "a check `npm test` runs (scripts/test.mjs)" },
  "deno doc --lint": { run: "no", why: "a check `npm test` runs (scripts/test.mjs)" },
  "deno publish --dry-run": { run: "no", why: "a check `npm test` runs (scripts/test.mjs)" },
  "node scripts/layers.mjs": { run: "exit", expect: /0 cycles and 0 upward imports/ },
  "deno check --doc-only": {
    run: "no",
    why: "a check `npm test` runs (scripts/test.mjs), on README.md and docs/",
  },
  "npm run build": { run: "exit", expect: /built npm\// },
  // Minutes long as written: here each benchmark runs briefly (`--quick`), peers installed as the README says.
  "npm run bench": { run: "exit", as: (command) => `${command} -- --quick`, expect: /Backend hanging/ },
  "npm install && npm run build && (cd npm && npm pack)": {
    run: "exit",
    expect: /svc-infra-cache-0\.1\.0\.tgz/,
  },
  'cd ../my-app && npm install "$OLDPWD/npm/svc-infra-cache-0.1.0.tgz"': {
    run: "exit",
    as: (command) =>
      `${command} && node -e 'import("@svc-infra/cache").then((m) => console.log(typeof m.initCache))'`,
    expect: /^function$/m,
  },
  // The quick starts, saved in the project the tarball was installed in (the Install section's lines).
  "node quickstart.mjs": {
    run: "exit",
    as: (command) => `cp examples/node/quickstart.mjs ../my-app/ && cd ../my-app && ${command}`,
    expect:
      /loading user 1\n\{ id: 1, name: 'Ada' \}\n\{ id: 1, name: 'Ada' \}\nloading user 1\n.*Grace.*\nhits: 1\n/,
  },
  "npm install @svc-infra/cache @redis/client cluster-key-slot": {
    run: "no",
    why: "the package answers 404 until published: the next line installs the clients beside the tarball",
  },
  "node quickstart_redis.mjs": {
    run: "exit",
    as: (command) =>
      `cp examples/node/quickstart_redis.mjs ../my-app/ && cd ../my-app && ` +
      `npm install --no-audit --no-fund --prefer-offline @redis/client cluster-key-slot && ${command}`,
    env: { REDIS_URL: Deno.env.get("TEST_REDIS_URL") ?? "redis://127.0.0.1:6379" },
    expect: /Hello, Ada!\nHello, Ada!\n/,
  },
  "npx deno run -A examples/quickstart.ts": {
    run: "exit",
    expect: /loading user 1\n.*Ada.*\n.*Ada.*\nloading user 1\n.*Grace.*\nhits: 1\n/,
  },
  "REDIS_URL=redis://localhost:6379 npx deno run -A examples/quickstart.ts": {
    run: "exit",
    as: (command) =>
      command.replace("redis://localhost:6379", Deno.env.get("TEST_REDIS_URL") ?? "redis://localhost:6379"),
    expect: /loading user 1\n.*Ada.*\n.*Ada.*\nloading user 1\n.*Grace.*\nhits: 1\n/,
  },
  "npx deno run -A examples/manual_example.ts": { run: "exit" },
  "npx deno run -A examples/instances_example.ts": {
    run: "exit",
    expect: /📊 sessions hits: 3, config hits: 1/,
  },
  "npx deno serve -A --port 8000 examples/hono/deno.ts": {
    run: "server",
    port: (port, command) => command.replace("--port 8000", `--port ${port}`),
  },
  "npm run build && node examples/hono/node.mjs": {
    run: "server",
    port: (_, command) => command,
    env: (port) => ({ PORT: String(port) }),
  },
  "npm run build && cd examples/node && npm install && node resource_example.mjs": {
    run: "exit",
    expect: /📊 Cache hits: 1\n/,
  },
  "cd examples/worker && npx wrangler dev": {
    run: "server",
    port: (port, command) => `${command} --port ${port} --ip 127.0.0.1 --inspector-port ${freePort()}`,
  },
  "cd examples/cloudflare && npx wrangler dev": {
    run: "no",
    why: "tests/cloudflare_example_test.ts starts exactly this under wrangler dev and drives its routes",
  },
  "cd examples/cloudflare && npx wrangler dev -c wrangler.kv.toml": {
    run: "no",
    why: "tests/cloudflare_example_test.ts starts exactly this under wrangler dev and drives its routes",
  },
  // Seconds long as written: here one short round.
  "npx deno run -A bench/cloudflare_hits.ts": {
    run: "exit",
    as: (command) => `${command} 200 1`,
    expect: /Durable Object/,
  },
  // Minutes long as written: here one short round of the cells that do not fill a million entries.
  "npm run build && npm install --prefix bench && node --expose-gc bench/writes.mjs": {
    run: "exit",
    as: (command) => `${command} 100 1 --cells miss,tags`,
  },
  "npm run edge": { run: "server", port: (_, command) => command, env: (port) => ({ PORT: String(port) }) },
};

/** A fresh tree: what git would check out (plus files not yet committed), beside a `my-app` project. */
async function freshTree(): Promise<{ tree: string; parent: string }> {
  const parent = await Deno.makeTempDir({ prefix: "svc-cache-readme-" });
  const tree = `${parent}/svc-infra-cache`;
  const list = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: root,
    stdout: "piped",
  }).output();
  for (const file of new TextDecoder().decode(list.stdout).split("\0").filter(Boolean)) {
    try {
      const to = `${tree}/${file}`;
      await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
      await Deno.copyFile(`${root}${file}`, to);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error; // deleted, not yet committed
    }
  }
  const git = (...args: string[]) =>
    new Deno.Command("git", { args, cwd: tree, stdout: "null", stderr: "null" }).output();
  await git("init", "-q");
  await git("add", "-A");
  await git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "fresh");
  await Deno.symlink(`${root}node_modules`, `${tree}/node_modules`);
  await Deno.mkdir(`${parent}/my-app`);
  await Deno.writeTextFile(
    `${parent}/my-app/package.json`,
    JSON.stringify({ name: "my-app", private: true }),
  );
  return { tree, parent };
}

const { tree, parent } = await freshTree();
const inherited = ["HOME", "USER", "TMPDIR", "LANG", "SVC_CACHE_TEST_RUN"].flatMap((name) => {
  const value = Deno.env.get(name);
  return value === undefined ? [] : [[name, value]];
});
const shellEnv = (extra: Record<string, string> = {}) => ({
  ...Object.fromEntries(inherited),
  ...extra,
  NO_COLOR: "1",
  // The tree's own tools first, as `npx` finds them; the suite's services are not this command's.
  PATH: `${tree}/node_modules/.bin:${Deno.env.get("PATH")}`,
});

async function runToExit(command: string, check: Check & { run: "exit" }): Promise<void> {
  const shell = (check.as?.(command) ?? command).replace(/^npm install && /, "");
  const { code, stdout, stderr } = await new Deno.Command("sh", {
    args: ["-c", shell],
    cwd: tree,
    env: shellEnv(check.env),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout), err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, `${command}\n${out}\n${err}`);
  if (check.expect) assert.match(out + err, check.expect, `${command}\n${out}\n${err}`);
}

async function runServer(command: string, check: Check & { run: "server" }): Promise<void> {
  const port = freePort();
  const child = new Deno.Command("sh", {
    args: ["-c", check.port(port, command)],
    cwd: tree,
    env: shellEnv(check.env?.(port)),
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
    detached: true, // its own process group: servers spawn children (workerd, Deno's serve workers)
  }).spawn();
  try {
    const base = `http://127.0.0.1:${port}`;
    let answered = false;
    for (let i = 0; i < 600 && !answered; i++) {
      await new Promise((r) => setTimeout(r, 100));
      answered = await fetch(`${base}/users/123`).then(
        async (r) => (await r.body?.cancel(), true),
        () => false,
      );
    }
    assert.ok(answered, `${command}: nothing answered on port ${port} within 60 s`);
    const first = await fetch(`${base}/users/123`);
    assert.equal((await first.json()).name, "John Doe");
    const second = await fetch(`${base}/users/123`);
    await second.body?.cancel();
    assert.equal(second.headers.get("x-cache"), "HIT", command);
  } finally {
    try {
      Deno.kill(-child.pid, "SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await child.stderr.cancel().catch(() => {});
    try {
      Deno.kill(-child.pid, "SIGKILL"); // whatever ignored the TERM
    } catch { /* the whole group is gone */ }
  }
}

Deno.test("readme: every command in the README is known to this test", () => {
  const unknown = readmeCommands().filter((command) => !(command in checks));
  assert.deepEqual(unknown, [], "commands the README shows that no test runs");
  const stale = Object.keys(checks).filter((command) => !readmeCommands().includes(command));
  assert.deepEqual(stale, [], "commands this test knows that the README no longer shows");
});

// In order: the tarball line needs the build and pack before it, as the README's block does.
for (const command of readmeCommands()) {
  const check = checks[command];
  if (!check || check.run === "no") continue;
  Deno.test({
    name: `readme (fresh tree): ${command}`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () => check.run === "exit" ? runToExit(command, check) : runServer(command, check),
  });
}

Deno.test("readme: the commands left the tree as git checked it out (git status is clean)", async () => {
  const { stdout } = await new Deno.Command("git", {
    args: ["status", "--porcelain"],
    cwd: tree,
    stdout: "piped",
  })
    .output();
  assert.equal(new TextDecoder().decode(stdout), "", "files the commands left behind");
});

Deno.test("readme: the fresh tree is removed", async () => {
  await Deno.remove(parent, { recursive: true });
});
