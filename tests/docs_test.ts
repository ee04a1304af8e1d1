/**
 * The README's quick starts are the example files that tests/readme_commands_test.ts runs from a fresh tree
 * (`node quickstart.mjs` in a project with the packed package): a block that drifted from its file would show
 * code no test runs. Type-checking every TypeScript block of the README and `docs/` is a static check of
 * `npm test` (`deno check --doc-only`).
 */
import assert from "node:assert/strict";

const root = new URL("..", import.meta.url);
const readme = await Deno.readTextFile(new URL("README.md", root));

for (const file of ["quickstart.mjs", "quickstart_redis.mjs"]) {
  Deno.test(`docs: the README's ${file} block is examples/node/${file}, character for character`, async () => {
    const source = await Deno.readTextFile(new URL(`examples/node/${file}`, root));
    const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
    const block = blocks.find((b) => b.startsWith(`// ${file}:`));
    assert.ok(block, `a js block starting with "// ${file}:"`);
    assert.equal(block, source);
  });
}

Deno.test("docs: every relative link of the README and the guides points to a file that exists", async () => {
  const files = ["README.md", ...[...Deno.readDirSync(new URL("docs", root))].map((f) => `docs/${f.name}`)];
  const broken: string[] = [];
  for (const file of files) {
    const text = await Deno.readTextFile(new URL(file, root));
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target)) continue; // absolute
      try {
        await Deno.stat(new URL(target, new URL(file, root)));
      } catch {
        broken.push(`${file} → ${target}`);
      }
    }
  }
  assert.deepEqual(broken, []);
});
