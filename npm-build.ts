/**
 * Builds the npm package `@svc-infra/cache` into `npm/` from the same source: ESM (code-split, so adapters
 * stay lazily loaded chunks), CJS (the same chunks: one core every entry requires), and `.d.ts`/`.d.cts` from
 * `tsc` (typescript@5; the npm typescript@7 has no JS API). `package.json`'s `exports` are generated from
 * `deno.json`'s and checked against them both ways. It prints the core bundle's size as an edge bundler
 * without code splitting ships it, and what each feature entry adds (beside the peers', `npm run bench`
 * measures it too). Run: `npm run build` (`deno run -A npm-build.ts`).
 *
 * @module
 */

import * as esbuild from "esbuild";
import { CORE_IMPORTS, edgeBundle, FEATURE_IMPORTS } from "./scripts/edge_bundle.mjs";

const OUT = "npm";
const deno = JSON.parse(await Deno.readTextFile("deno.json"));
const rootPackage = JSON.parse(await Deno.readTextFile("package.json"));

/** deno.json subpath → entry name in the build (`.` → `mod`, `./adapters/deno-kv` → `adapters/deno-kv`). */
const entries: Record<string, string> = {};
for (const [subpath, file] of Object.entries(deno.exports as Record<string, string>)) {
  entries[subpath === "." ? "mod" : subpath.slice(2)] = file;
}

/**
 * devalue (the serializer of non-JSON values) is bundled into the core chunk of both builds: the package has no
 * runtime dependency, and loading it costs no module resolution (it was 8 ms of a 19 ms cold import on Node).
 * Its license ships beside ours. The rest stay external: optional peers.
 */
const BUNDLED = "devalue";
const optionalPeers: Record<string, string> = {
  "@redis/client": rootPackage.dependencies["@redis/client"],
  "cluster-key-slot": rootPackage.dependencies["cluster-key-slot"],
  "@upstash/redis": rootPackage.dependencies["@upstash/redis"],
  "@deno/kv": rootPackage.devDependencies["@deno/kv"],
  // The oldest Hono the package test runs the middleware on (the workspace tests the newest).
  "hono": "^4.6.20",
  "fast-check": rootPackage.devDependencies["fast-check"],
  "@opentelemetry/api": rootPackage.devDependencies["@opentelemetry/api"],
};
const external = Object.keys(optionalPeers);

await Deno.remove(OUT, { recursive: true }).catch(() => {});
/** The core loads adapters by specifier; in the package they are its own subpath exports. */
const adapterSpecifiers: esbuild.Plugin = {
  name: "adapter-specifiers",
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]store[\\/]url\.ts$/ }, async (args) => ({
      loader: "ts",
      contents: (await Deno.readTextFile(args.path))
        .replaceAll('"../../adapters/redis.ts"', `"${deno.name}/adapters/redis"`)
        .replaceAll('"../../adapters/upstash.ts"', `"${deno.name}/adapters/upstash"`)
        .replaceAll('"../../adapters/deno_kv.ts"', `"${deno.name}/adapters/deno-kv"`),
    }));
  },
};
const common: esbuild.BuildOptions = {
  entryPoints: entries,
  plugins: [adapterSpecifiers],
  bundle: true,
  platform: "neutral",
  target: "es2022",
  external,
  logLevel: "warning",
  legalComments: "none",
};
await esbuild.build({
  ...common,
  format: "esm",
  splitting: true,
  outdir: `${OUT}/esm`,
  chunkNames: "chunks/[name]-[hash]",
});
// CommonJS has the same graph: esbuild cannot split CJS, so the ESM split build's files are each converted to
// CJS, and every entry requires the one core chunk instead of carrying a copy of it.
const forCjs = await esbuild.build({
  ...common,
  format: "esm",
  splitting: true,
  outdir: `${OUT}/cjs`,
  chunkNames: "chunks/[name]-[hash]",
  write: false,
});
for (const file of forCjs.outputFiles) {
  // `import()` becomes `require()`: a CommonJS process never loads the ESM build (nor can, under Jest).
  const { code } = await esbuild.transform(file.text, {
    format: "cjs",
    loader: "js",
    target: "es2022",
    supported: { "dynamic-import": false },
  });
  const path = file.path.replace(/\.js$/, ".cjs");
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  // The files name each other `./x.js`: in this build they are `./x.cjs`.
  await Deno.writeTextFile(path, code.replace(/(require\("\.\.?\/[^"]+)\.js"\)/g, '$1.cjs")'));
}

await Deno.mkdir(".tmp", { recursive: true }); // scratch space; a fresh clone has none
await Deno.writeTextFile(
  ".tmp/tsconfig.build.json",
  JSON.stringify({
    compilerOptions: {
      declaration: true,
      emitDeclarationOnly: true,
      outDir: `../${OUT}/types`,
      rootDir: "..",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      target: "ES2022",
      lib: ["ES2024", "DOM", "DOM.Iterable"],
      allowImportingTsExtensions: true,
      rewriteRelativeImportExtensions: true,
      strict: true,
      skipLibCheck: true,
      types: [],
    },
    files: Object.values(entries).map((f) => `../${f}`),
  }),
);
const tsc = await new Deno.Command("node_modules/.bin/tsc", { args: ["-p", ".tmp/tsconfig.build.json"] })
  .output();
if (!tsc.success) {
  console.error(new TextDecoder().decode(tsc.stdout), new TextDecoder().decode(tsc.stderr));
  throw new Error("Cannot build the npm package: tsc failed to emit declarations");
}

await writeTypeFlavours(`${OUT}/types`);

type Flavour = { types: string; default: string };
const exportsMap: Record<string, { import: Flavour; require: Flavour }> = {};
/** node10 resolution ignores `exports`: subpaths reach their (CJS) types through `typesVersions`. */
const typesVersions: Record<string, string[]> = {};
for (const [subpath, file] of Object.entries(deno.exports as Record<string, string>)) {
  const name = subpath === "." ? "mod" : subpath.slice(2);
  const types = `./types/${file.slice(2).replace(/\.ts$/, "")}`;
  exportsMap[subpath] = {
    import: { types: `${types}.d.ts`, default: `./esm/${name}.js` },
    require: { types: `${types}.d.cts`, default: `./cjs/${name}.cjs` },
  };
  if (subpath !== ".") typesVersions[name] = [`${types}.d.cts`];
}
const pkg = {
  name: deno.name,
  version: deno.version,
  description:
    "One-button caching for async TypeScript, edge-runtime first: key templates, versioned tags, " +
    "stampede protection, grace, metrics; memory, Redis, Redis Cluster, Upstash, Deno KV and Cloudflare " +
    "Durable Objects (alone or with Workers KV).",
  license: deno.license,
  // Where the source lives (an assumption until the repository is published under this name).
  repository: { type: "git", url: "git+https://github.com/svc-infra/cache.git" },
  homepage: "https://github.com/svc-infra/cache#readme",
  bugs: { url: "https://github.com/svc-infra/cache/issues" },
  type: "module",
  main: "./cjs/mod.cjs",
  module: "./esm/mod.js",
  types: "./types/mod.d.cts",
  typesVersions: { "*": typesVersions },
  exports: exportsMap,
  sideEffects: false,
  engines: { node: ">=20" },
  peerDependencies: optionalPeers,
  peerDependenciesMeta: Object.fromEntries(
    Object.keys(optionalPeers).map((name) => [name, { optional: true }]),
  ),
  keywords: [
    "cache",
    "redis",
    "upstash",
    "deno-kv",
    "hono",
    "edge",
    "cloudflare-workers",
    "durable-objects",
    "workers-kv",
    "tags",
    "stampede",
  ],
};
await Deno.writeTextFile(`${OUT}/package.json`, JSON.stringify(pkg, null, 2) + "\n");
await Deno.copyFile("README.md", `${OUT}/README.md`);
// The guides the README links to, so its links work in the package as they do on GitHub.
await Deno.mkdir(`${OUT}/docs`, { recursive: true });
for (const entry of Deno.readDirSync("docs")) {
  await Deno.copyFile(`docs/${entry.name}`, `${OUT}/docs/${entry.name}`);
}
await Deno.copyFile("LICENSE", `${OUT}/LICENSE`);
const bundled = JSON.parse(await Deno.readTextFile(`node_modules/${BUNDLED}/package.json`));
await Deno.writeTextFile(
  `${OUT}/THIRD_PARTY_LICENSES`,
  `${BUNDLED} ${bundled.version} (${bundled.license}), bundled in esm/chunks and cjs/chunks:\n\n${await Deno
    .readTextFile(`node_modules/${BUNDLED}/LICENSE`)}`,
);

// The two export maps must agree, both ways, and every file they name must exist.
const denoSubpaths = Object.keys(deno.exports).sort(), npmSubpaths = Object.keys(pkg.exports).sort();
if (JSON.stringify(denoSubpaths) !== JSON.stringify(npmSubpaths)) {
  throw new Error(
    `Cannot build: deno.json exports ${denoSubpaths} differ from package.json exports ${npmSubpaths}`,
  );
}
for (
  const target of Object.values(pkg.exports).flatMap((e) => [e.import, e.require]).flatMap((f) =>
    Object.values(f)
  )
) {
  await Deno.stat(`${OUT}/${target}`).catch(() => {
    throw new Error(`Cannot build: package.json exports ${target}, which was not built`);
  });
}

console.log(`built ${OUT}/ (${pkg.name}@${pkg.version}); ${await sizes()}`);

/**
 * What an edge bundler without code splitting ships (neutral platform, minified, gzipped) for `initCache` +
 * `cacheRead` + `cacheWrite`, resolved through the package's own exports; and what each feature entry adds.
 */
async function sizes(): Promise<string> {
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  const dir = `${Deno.cwd()}/${OUT}`;
  const core = await edgeBundle(esbuild, CORE_IMPORTS, dir, external);
  const added = await Promise.all(
    Object.entries(FEATURE_IMPORTS).map(async ([name, source]) => {
      const both = await edgeBundle(esbuild, CORE_IMPORTS + source, dir, external);
      return `${name} +${kb(both.gzipped - core.gzipped)}`;
    }),
  );
  return `core bundle (initCache + cacheRead + cacheWrite, neutral, no splitting, min+gz) ${
    kb(core.gzipped)
  }; each feature entry adds: ${added.join(", ")}`;
}

/**
 * tsc emits one `.d.ts` per source file with the source's `.ts` specifiers. The package gets two flavours, so
 * each module format sees types of its own kind (TypeScript reads `.d.ts` under `"type": "module"` as ESM):
 * `.d.ts` importing `./x.js` for `import`, `.d.cts` importing `./x.cjs` for `require`.
 */
async function writeTypeFlavours(dir: string): Promise<void> {
  const relativeTs = /((?:from|import)\s*\(?\s*["'])(\.\.?\/[^"']+)\.ts(["'])/g;
  for await (const item of Deno.readDir(dir)) {
    const path = `${dir}/${item.name}`;
    if (item.isDirectory) await writeTypeFlavours(path);
    else if (item.name.endsWith(".d.ts")) {
      const text = await Deno.readTextFile(path);
      await Deno.writeTextFile(path, text.replace(relativeTs, "$1$2.js$3"));
      await Deno.writeTextFile(path.replace(/\.d\.ts$/, ".d.cts"), text.replace(relativeTs, "$1$2.cjs$3"));
    }
  }
}
