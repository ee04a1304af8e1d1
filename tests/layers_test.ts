/**
 * The layer check of scripts/layers.mjs: the real import graph passes, and each kind of violation it exists
 * for fails (a cycle made by a type-only import, an upward import, a new module in no layer, a stale entry).
 */
import assert from "node:assert/strict";
import { check, importGraph, specifiers } from "../scripts/layers.mjs";

Deno.test("layers: every import form is read, type-only ones included; comments and strings are not imports", () => {
  const text = [
    `import type { A } from "./a.ts";`,
    `import {\n  type B,\n  c,\n} from "./b.ts";`,
    `export { d } from "./d.ts";`,
    `export type * from "./e.ts";`,
    `import "./f.ts";`,
    `let g: typeof import("./g.ts");`,
    `import * as H from "pkg";`,
    `// import { x } from "./commented.ts";`,
    `/* export { y } from "./block.ts"; */`,
    `const url = "https://example.com//not-a-comment"; import { i } from "./i.ts";`,
  ].join("\n");
  assert.deepEqual(specifiers(text), [
    "./a.ts",
    "./b.ts",
    "./d.ts",
    "./e.ts",
    "./f.ts",
    "./g.ts",
    "pkg",
    "./i.ts",
  ]);
});

Deno.test("layers: the source's imports point down and close no cycle", () => {
  const graph = importGraph();
  assert.ok(graph.size > 80, `modules read: ${graph.size}`);
  assert.ok(graph.get("src/engine/context.ts").has("src/store/store.ts"), "the context's imports were read");
  assert.deepEqual(check(graph), { unlisted: [], missing: [], upward: [], cycles: [], stale: [] });
});

Deno.test("layers: a type-only import back to the context is an upward import and a cycle", () => {
  const graph = importGraph();
  graph.get("src/keys/tags.ts").add("src/engine/context.ts"); // what `import type { CacheContext }` in tags.ts adds
  const result = check(graph);
  assert.deepEqual(result.upward, ["src/keys/tags.ts -> src/engine/context.ts (parts imports context)"]);
  assert.equal(result.cycles.length, 1);
  assert.match(result.cycles[0], /src\/engine\/context\.ts.*src\/keys\/tags\.ts/);
  // Held in the known list, it passes; the list's entries that no longer exist fail.
  assert.deepEqual(check(graph, { "src/keys/tags.ts -> src/engine/context.ts": "why" }).cycles, []);
  assert.deepEqual(check(importGraph(), { "src/keys/tags.ts -> src/engine/context.ts": "why" }).stale, [
    "src/keys/tags.ts -> src/engine/context.ts",
  ]);
});

Deno.test("layers: a cycle within one layer fails, and so does a module in no layer", () => {
  const graph = importGraph();
  graph.get("src/store/store.ts").add("src/entry/token.ts"); // token.ts imports store.ts: same layer, a cycle
  graph.set("src/new_module.ts", new Set(["src/keys/template.ts"]));
  const result = check(graph);
  assert.deepEqual(result.upward, []);
  assert.equal(result.cycles.length, 1);
  assert.match(result.cycles[0], /src\/entry\/token\.ts -> src\/store\/store\.ts -> src\/entry\/token\.ts/);
  assert.deepEqual(result.unlisted, ["src/new_module.ts"]);
});
