import assert from "node:assert/strict";
import { ReadBatch } from "./read_batch.ts";
import type { CacheContext } from "./context.ts";

/** A batch over a plain map, counting the store reads it makes. */
function batchOver(data: Record<string, string>) {
  const reads: string[][] = [];
  const cache = { run: (_op: string, call: () => Promise<unknown>) => call() } as unknown as CacheContext;
  const batch = new ReadBatch(cache, (keys) => {
    reads.push([...keys]);
    return Promise.resolve(keys.map((key) => data[key] ?? null));
  });
  return { batch, reads };
}

Deno.test("read batch: one tick's lookups share one read; lists with the same entry key but other dependencies stay apart", async () => {
  const { batch, reads } = batchOver({ e: "entry", t1: "v1", t2: "v2", g: "gen", other: "o" });
  const list = ["e", "g", "t1"];
  const [a, b, c, d, e] = await Promise.all([
    batch.read(list),
    batch.read(list),
    batch.read(["e", "g", "t1"]), // equal, not the same array
    batch.read(["e", "g", "t2"]),
    batch.read(["other"]),
  ]);
  assert.deepEqual(reads, [["e", "g", "t1", "t2", "other"]]);
  for (const raws of [a, b, c]) assert.deepEqual(raws, ["entry", "gen", "v1"]);
  assert.notEqual(a, b); // each caller gets its own array
  assert.deepEqual(d, ["entry", "gen", "v2"]);
  assert.deepEqual(e, ["o"]);
  assert.deepEqual(await batch.read(["e"]), ["entry"]); // a later tick reads again
  assert.equal(reads.length, 2);
});
