/**
 * What an edge bundler without code splitting (wrangler, most Worker builds) ships for some imports of the
 * package: esbuild `--bundle --minify --format=esm --platform=neutral`, no splitting, gzipped. Shared by the
 * build's size report (npm-build.ts) and the package test (tests/node/npm_package.node.ts).
 *
 * @module
 */

/**
 * Bundles `source` (an entry module's text, resolved from `resolveDir`) with the given `esbuild` module;
 * resolves with the bundle's text, its size and its gzipped size in bytes.
 */
export async function edgeBundle(esbuild, source, resolveDir, external = []) {
  const result = await esbuild.build({
    stdin: { contents: source, resolveDir },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "neutral",
    write: false,
    external,
    logLevel: "silent",
  });
  const [output] = result.outputFiles;
  const stream = new Blob([output.contents]).stream().pipeThrough(new CompressionStream("gzip"));
  const gzipped = (await new Response(stream).arrayBuffer()).byteLength;
  return { text: output.text, bytes: output.contents.byteLength, gzipped };
}

/** What each feature entry adds to the core bundle: the import that brings it in. */
export const FEATURE_IMPORTS = {
  l1: 'export { twoLevel } from "@svc-infra/cache/l1";',
  integrity: 'export { sealed } from "@svc-infra/cache/integrity";',
  telemetry: 'export { otel } from "@svc-infra/cache/telemetry";',
  prometheus: 'export { prometheusMetrics } from "@svc-infra/cache";',
  hono: 'export { cacheResponse } from "@svc-infra/cache/hono";',
};

/** The core: a default cache, a cached read and a write that invalidates. */
export const CORE_IMPORTS = 'export { initCache, cacheRead, cacheWrite } from "@svc-infra/cache";';
