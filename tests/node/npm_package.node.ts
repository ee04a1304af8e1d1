/**
 * The npm package as users get it: `npm pack` of the build, installed into a fresh project; the seed's resource
 * example from plain JavaScript (ESM and CJS, in memory and on the real redis-server), TypeScript consumers
 * type-checked with tsc 5 (ESM under node16 and bundler, CJS under node16 and node10), attw and publint on the
 * tarball, the example on Bun, the bundle an edge bundler without code splitting makes of it (features out of
 * the core), and one core shared by every CommonJS entry.
 *
 * @module
 */

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tmpdir } from "node:os";
import * as esbuild from "esbuild";
import { CORE_IMPORTS, edgeBundle, FEATURE_IMPORTS } from "../../scripts/edge_bundle.mjs";

const root = process.cwd();
// Outside the repository, so Node cannot find the repository's own node_modules by walking up.
const project = join(tmpdir(), `svc-infra-cache-consumer-${process.pid}`);
const bare = join(tmpdir(), `svc-infra-cache-bare-${process.pid}`);
after(() => [project, bare].forEach((dir) => rmSync(dir, { recursive: true, force: true })));
after(() => esbuild.stop()); // its service process would outlive the tests

function run(cmd: string, args: string[], env: Record<string, string | undefined> = {}): string {
  return execFileSync(cmd, args, {
    cwd: project,
    env: { ...process.env, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

test("npm package: pack and install into a fresh project", () => {
  rmSync(project, { recursive: true, force: true });
  mkdirSync(project, { recursive: true });
  const packDir = resolve(".tmp/pack");
  rmSync(packDir, { recursive: true, force: true });
  mkdirSync(packDir, { recursive: true });
  execFileSync("npm", ["pack", join(root, "npm"), "--pack-destination", packDir], { stdio: "ignore" });
  const tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith(".tgz"))!);
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  for (const f of ["resource_example.mjs", "resource_example.cjs", "consumer.ts", "consumer.cts"]) {
    cpSync(join(root, "examples/node", f), join(project, f));
  }
  run("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--prefer-offline",
    tarball,
    "@redis/client@5.12.1",
    "cluster-key-slot@1.1.2",
    "hono@4.6.20", // the oldest of the package's peer range; the workspace's own tests run the newest
  ]);
  assert.ok(existsSync(join(project, "node_modules/@svc-infra/cache/package.json")));
});

const expectSeedSteps = (out: string) => {
  assert.match(
    out,
    /🔥 Cache MISS - fetching user 123 from DB\n✅ Fetched profile: \{"userId":123,"name":"John Doe"\}\n⚡ Cached profile/,
  );
  assert.match(out, /✅ Fresh profile: \{"userId":123,"name":"New Name"\}/);
  assert.match(out, /📊 Cache hits: 1\n/);
};

test("npm package: the seed's resource example in ESM on the in-memory default", () => {
  const out = run(process.execPath, ["resource_example.mjs"]);
  expectSeedSteps(out);
  assert.match(
    out,
    /✅ User successfully deleted - User 123 not found\n📊 Cache hits: 1\n📊 Cache misses: 3/,
  );
});

test(
  "npm package: the same example against the real redis-server",
  { skip: !process.env.TEST_REDIS_URL },
  () => {
    const out = run(process.execPath, ["resource_example.mjs"], {
      CACHE_URL: process.env.TEST_REDIS_URL,
      CACHE_PREFIX: `npm${Date.now()}`,
    });
    expectSeedSteps(out);
  },
);

test("npm package: redis and Deno KV URLs, and telemetry, without their package installed name what to install", () => {
  rmSync(bare, { recursive: true, force: true });
  mkdirSync(bare, { recursive: true });
  const tarball = join(
    resolve(".tmp/pack"),
    readdirSync(resolve(".tmp/pack")).find((f) => f.endsWith(".tgz"))!,
  );
  writeFileSync(join(bare, "package.json"), JSON.stringify({ name: "bare", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], {
    cwd: bare,
    stdio: "ignore",
  });
  writeFileSync(
    join(bare, "try.mjs"),
    `import { initCache } from "@svc-infra/cache";
import { otel } from "@svc-infra/cache/telemetry";
for (const options of [{ url: "redis://127.0.0.1:1" }, { url: "denokv::memory:" }, { telemetry: otel() }]) {
  try { await initCache(options); console.log("no error"); } catch (e) { console.log(e.name, e.message); }
}`,
  );
  const [redis, denoKv, telemetry] = execFileSync(process.execPath, ["try.mjs"], {
    cwd: bare,
    encoding: "utf8",
  }).split(
    "\n",
  );
  assert.match(
    redis,
    /^TypeError Cannot open cache url "redis:\/\/127\.0\.0\.1:1": the redis adapter cannot be loaded .*npm install @redis\/client cluster-key-slot/,
  );
  assert.match(
    denoKv,
    /^TypeError Cannot open cache url "denokv::memory:": the denoKv adapter cannot be loaded .*npm install @deno\/kv/,
  );
  assert.match(
    telemetry,
    /^TypeError Cannot init cache: telemetry without a meter and a tracer reads the globals of @opentelemetry\/api, which cannot be loaded .*npm install @opentelemetry\/api$/,
  );
});

test("npm package: the example in CommonJS", () => {
  expectSeedSteps(run(process.execPath, ["resource_example.cjs"]));
});

test("npm package: ESM and CommonJS keep Dates and Maps through a hit, with devalue bundled (no dependency)", () => {
  const body = (imports: string) =>
    `${imports}
(async () => {
  await initCache();
  const get = cacheRead({ key: "rich", ttl: 60 }, () => ({ at: new Date(0), tags: new Map([["a", 1]]) }));
  await get();
  const hit = await get();
  console.log(hit.at instanceof Date, hit.tags instanceof Map, hit.tags.get("a"));
})();`;
  writeFileSync(
    join(project, "rich.cjs"),
    body(`const { cacheRead, initCache } = require("@svc-infra/cache");`),
  );
  writeFileSync(join(project, "rich.mjs"), body(`import { cacheRead, initCache } from "@svc-infra/cache";`));
  assert.equal(run(process.execPath, ["rich.cjs"]).trim(), "true true 1");
  assert.equal(run(process.execPath, ["rich.mjs"]).trim(), "true true 1");
  const installed = join(project, "node_modules/@svc-infra/cache");
  const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
  assert.equal(manifest.dependencies, undefined, "no runtime dependency");
  assert.ok(!existsSync(join(project, "node_modules/devalue")), "devalue is not installed beside it");
  assert.match(readFileSync(join(installed, "THIRD_PARTY_LICENSES"), "utf8"), /^devalue \S+ \(MIT\)/);
});

test("npm package: one default cache per process, whatever the module format or entry point", () => {
  // Every CommonJS entry requires the one core chunk; ESM and CJS may be mixed in one process.
  writeFileSync(
    join(project, "one_state.cjs"),
    `const { initCache, getMetrics, instance } = require("@svc-infra/cache");
const { cacheResponse } = require("@svc-infra/cache/hono");
const { Hono } = require("hono");
(async () => {
  await initCache({ prefix: "one" });
  const app = new Hono();
  app.get("/u", cacheResponse({ key: "u", ttl: 60 }), (c) => c.json({ ok: true }));
  const statuses = [];
  for (let i = 0; i < 2; i++) statuses.push((await app.request("/u")).headers.get("x-cache"));
  const esm = await import("@svc-infra/cache");
  console.log(JSON.stringify({
    statuses,
    hits: getMetrics()["cache.hit"],
    esmHits: esm.getMetrics()["cache.hit"],
    sameNamespace: esm.instance().keyPrefix === instance().keyPrefix,
  }));
})();`,
  );
  const out = JSON.parse(run(process.execPath, ["one_state.cjs"]).trim());
  assert.deepEqual(out, { statuses: ["MISS", "HIT"], hits: 1, esmHits: 1, sameNamespace: true });
});

const consumers = [
  { file: "consumer.ts", module: "node16", moduleResolution: "node16" },
  { file: "consumer.ts", module: "esnext", moduleResolution: "bundler" },
  // CommonJS: `.cts` under node16, and the legacy node10 resolution that ignores `exports`.
  { file: "consumer.cts", module: "node16", moduleResolution: "node16" },
  { file: "consumer.cts", module: "commonjs", moduleResolution: "node10" },
  // A Node project without the DOM library: no global CryptoKey, only @types/node (and no Hono, whose older
  // types need the DOM library themselves).
  { file: "node_consumer.ts", module: "nodenext", moduleResolution: "nodenext", node: true },
];
const NODE_CONSUMER =
  `import { CacheTimeoutError, createCache, initCache, cacheRead, StoreError } from "@svc-infra/cache";
import { sealed } from "@svc-infra/cache/integrity";
import { twoLevel } from "@svc-infra/cache/l1";
import { redisStore } from "@svc-infra/cache/adapters/redis";
const key = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
await initCache({ integrity: sealed({ signingKeys: [key, new Uint8Array(32)] }) });
const cache = await createCache({ store: redisStore("redis://127.0.0.1:1"), l1: twoLevel({ maxStaleMs: 100 }) });
const get = cacheRead({ key: "n:{id}" }, ({ id }: { id: number }) => id);
const n: number = await get({ id: 1 });
export { cache, n, CacheTimeoutError, StoreError };
`;
for (const { file, module, moduleResolution, node } of consumers) {
  const libs = node ? ", lib es2022 and @types/node" : "";
  test(`npm package: ${file} type-checks with tsc 5 (module ${module}, moduleResolution ${moduleResolution}${libs})`, () => {
    const config = `tsconfig.${file}.${moduleResolution}.json`;
    if (node) writeFileSync(join(project, file), NODE_CONSUMER);
    writeFileSync(
      join(project, config),
      JSON.stringify({
        compilerOptions: {
          module,
          moduleResolution,
          target: "es2022",
          strict: true,
          noEmit: true,
          lib: node ? ["es2022"] : ["es2022", "dom"],
          types: node ? ["node"] : [],
          // The repository's @types/node (20, as the package's engines): the fresh project has none.
          ...(node ? { typeRoots: [join(root, "node_modules/@types")] } : {}),
          skipLibCheck: false,
          ignoreDeprecations: "5.0",
        },
        files: [file],
      }),
    );
    run(join(root, "node_modules/.bin/tsc"), ["-p", config]);
  });
}

test("npm package: the packed tarball passes @arethetypeswrong/cli and publint", () => {
  const packDir = resolve(".tmp/pack");
  const tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith(".tgz"))!);
  // attw exits non-zero on any problem (masquerading, failed resolution) for any entry and resolution mode.
  run(join(root, "node_modules/.bin/attw"), [tarball, "--format", "ascii"]);
  const lint = execFileSync(join(root, "node_modules/.bin/publint"), ["run", tarball, "--strict"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  assert.match(lint, /All good!/);
});

test("npm package: the example on Bun", () => {
  expectSeedSteps(run(join(root, "node_modules/.bin/bun"), ["resource_example.mjs"]));
});

test(
  "npm package: the example on Bun against the real redis-server",
  { skip: !process.env.TEST_REDIS_URL },
  () => {
    const env = { CACHE_URL: process.env.TEST_REDIS_URL, CACHE_PREFIX: `bun${Date.now()}` };
    expectSeedSteps(run(join(root, "node_modules/.bin/bun"), ["resource_example.mjs"], env));
  },
);

test(
  "npm package: signed and encrypted entries on Node and Bun (sealed() from @svc-infra/cache/integrity)",
  { skip: !process.env.TEST_REDIS_URL },
  () => {
    writeFileSync(
      join(project, "sealed.mjs"),
      `import { createCache } from "@svc-infra/cache";
import { sealed } from "@svc-infra/cache/integrity";
import { createClient } from "@redis/client";
const raw = createClient({ url: process.env.CACHE_URL });
await raw.connect();
for (const option of ["signingKeys", "encryptionKeys"]) {
  const prefix = \`seal\${Date.now()}\${option}\`;
  const integrity = sealed({ [option]: [crypto.getRandomValues(new Uint8Array(32))] });
  const cache = await createCache({ url: process.env.CACHE_URL, prefix, integrity });
  let loads = 0;
  const read = () => cache.getOrSet("k", () => (loads++, { secret: "s3cret" }), { ttl: 60 });
  const first = await read(), second = await read();
  const stored = await raw.get(\`\${prefix}:v1:e:k\`);
  await raw.set(\`\${prefix}:v1:e:k\`, stored.replace(/.{3}(.)$/, "AAA$1")); // tampered
  const third = await read();
  console.log(option, loads, first.secret, second.secret, third.secret, stored.startsWith('["svc4z"'), stored.includes("s3cret"));
  await cache.close();
}
await raw.close();
`,
    );
    const env = { CACHE_URL: process.env.TEST_REDIS_URL };
    for (const runtime of [process.execPath, join(root, "node_modules/.bin/bun")]) {
      const lines = run(runtime, ["sealed.mjs"], env).trim().split("\n");
      assert.deepEqual(lines, [
        "signingKeys 2 s3cret s3cret s3cret true true", // signed: readable, and a tampered entry loads again
        "encryptionKeys 2 s3cret s3cret s3cret true false", // encrypted: no plaintext in Redis
      ], runtime);
    }
  },
);

/** Text only a feature's code holds, to find it in a bundle. */
const FEATURE_MARKS: Record<keyof typeof FEATURE_IMPORTS, string> = {
  l1: "[L1-PUSH]", // src/l1/tier.ts
  integrity: "AES-GCM", // src/integrity/keys.ts
  telemetry: "cache.backend.duration", // src/telemetry/otel.ts
  prometheus: "# TYPE", // src/observe/prometheus.ts
  hono: "x-cache", // src/hono/
};
const KB = 1024;

test("npm package: initCache + cacheRead + cacheWrite bundled without code splitting holds no feature's code", async () => {
  const dir = join(project, "node_modules/@svc-infra/cache");
  const peers = ["hono", "@opentelemetry/api"];
  const core = await edgeBundle(esbuild, CORE_IMPORTS, project, peers);
  const report = [
    `core ${(core.gzipped / KB).toFixed(1)} KB gzipped (${(core.bytes / KB).toFixed(1)} KB minified)`,
  ];
  for (const [name, source] of Object.entries(FEATURE_IMPORTS) as [keyof typeof FEATURE_IMPORTS, string][]) {
    assert.ok(!core.text.includes(FEATURE_MARKS[name]), `the core bundle holds ${name} code`);
    // The mark does find the feature's code once its entry is imported.
    const withFeature = await edgeBundle(esbuild, CORE_IMPORTS + source, project, peers);
    assert.ok(withFeature.text.includes(FEATURE_MARKS[name]), `${name}: its mark is not in its own bundle`);
    report.push(`${name} +${((withFeature.gzipped - core.gzipped) / KB).toFixed(1)} KB`);
  }
  console.log(`# edge bundle (esbuild, neutral, minified, no splitting): ${report.join(", ")}`);
  assert.ok(existsSync(dir));
  // The core without the features and without the instance methods (initCache makes the default instance
  // only when instance() is called): 23.5 KB; 31.8 KB before (39.0 KB where @opentelemetry/api is installed);
  // 25.7 KB with the loader context, schema checks and namespaces of the read path; 27.1 KB with the loader's
  // added tags (ctx.addTags); 27.5 KB with the memory store's O(1) clear (scopes) and the refresh in place of a
  // value kept by ctx.notModified(); 28.5 KB here (28.8 KB as npm run build measures it) with the engine split
  // into parts (a class per concept: key spaces, diagnostics, guarded store calls, background work, flights,
  // invalidation) and the near tiers behind one interface; 28.9 KB (29.2 KB) with the memory store's parts as
  // classes and tagged hits that skip re-reading unchanged tag versions (+0.4 KB together); 29.6 KB with the
  // fixes probes asked for (option types read alike everywhere, counts, seconds-only options, the claim
  // deleting an unreadable entry so that a write over it stores, copies of repeated keys, L1's fail-safe;
  // +0.7 KB); 30.5 KB with the fixes of the next probes (an invalidation honoured from its call by a
  // key-precise landing log, set superseding loads in flight and overlapping sets, deadlines per turn and
  // overdue retries carried by the next call for Workers, error classes known across copies, input checks;
  // +0.9 KB); 31.4 KB with typed errors for the parts a cache is given (a store, clock, random source or
  // client of the wrong shape), values that would come back as another type (built-in subclasses, a built-in's
  // own properties, across realms), set's size check by the entry it makes and the retry of stalled
  // deliveries (+0.9 KB). A ceiling, so it does not grow further unnoticed.
  assert.ok(core.gzipped <= 31.5 * KB, `core bundle ${(core.gzipped / KB).toFixed(1)} KB gzipped`);
  // Issue 28's target, reported rather than failed (a passing run prints no failure): the core itself.
  console.log(`# core bundle target 12 KB gzipped: ${core.gzipped <= 12 * KB ? "met" : "not met yet"}`);
});

test("npm package: every CommonJS entry requires the one core chunk instead of carrying a copy", () => {
  const cjs = join(project, "node_modules/@svc-infra/cache/cjs");
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((f) =>
      f.isDirectory() ? files(join(dir, f.name)) : f.name.endsWith(".cjs") ? [join(dir, f.name)] : []
    );
  // Text only the core holds (src/api/open.ts): in exactly one file, a chunk.
  const holding = files(cjs).filter((f) => readFileSync(f, "utf8").includes("[INIT] store="));
  assert.equal(holding.length, 1, `the core is in ${holding.join(", ")}`);
  // No native import(): a CommonJS process (Jest without --experimental-vm-modules) cannot run one.
  const importing = files(cjs).filter((f) => /\bimport\(/.test(readFileSync(f, "utf8")));
  assert.deepEqual(importing, [], "CommonJS files load adapters and clients with require()");
  assert.match(holding[0], /[\\/]chunks[\\/]/);
  const hono = readFileSync(join(cjs, "hono.cjs"), "utf8");
  assert.ok(hono.length < 20 * KB, `hono.cjs is ${(hono.length / KB).toFixed(1)} KB`);
  assert.ok(
    hono.includes(`require("./chunks/${holding[0].split(/[\\/]/).at(-1)}")`),
    "hono.cjs requires the core",
  );
  // Features from their CommonJS entries plug into the core that mod.cjs exports.
  writeFileSync(
    join(project, "features.cjs"),
    `const { createCache } = require("@svc-infra/cache");
const { twoLevel } = require("@svc-infra/cache/l1");
const { sealed } = require("@svc-infra/cache/integrity");
(async () => {
  const cache = await createCache({ l1: twoLevel(), integrity: sealed({ signingKeys: [new Uint8Array(32)] }) });
  let loads = 0;
  await cache.getOrSet("k", () => ++loads);
  console.log(await cache.getOrSet("k", () => ++loads), loads);
  for (const old of [{ l1: true }, { telemetry: true }, { signingKeys: [] }]) {
    await createCache(old).then(() => console.log("no error"), (e) => console.log(e.name, e.message));
  }
  await cache.close();
})();`,
  );
  const [hit, ...old] = run(process.execPath, ["features.cjs"]).trim().split("\n");
  assert.equal(hit, "1 1");
  assert.match(
    old[0],
    /^TypeError .*write l1: twoLevel\(\{ maxStaleMs \}\) with twoLevel from "@svc-infra\/cache\/l1"/,
  );
  assert.match(
    old[1],
    /^TypeError .*write telemetry: otel\(\) .* with otel from "@svc-infra\/cache\/telemetry"/,
  );
  assert.match(
    old[2],
    /^TypeError .*unknown option "signingKeys": .*sealed\(\{ signingKeys, encryptionKeys \}\)/,
  );
});
