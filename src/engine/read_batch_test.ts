import assert from "node:assert/strict";
import { ReadBatch } from "./read_batch.ts";
import type { BatchCache } from "./read_batch.ts";

/** A batch over a plain map, counting the store reads it makes. */
function batchOver(data: Record<string, string>) {
  const reads: string[][] = [];
  const cache = { run: (_op: string, call: () => Promise<unknown>) => call() } as unknown as BatchCache;
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

Deno.test("read batch: many lists of one tick read shared dependencies once, and each caller gets its own keys in its own order", async () => {
  const data: Record<string, string> = { g: "gen", all: "vall" };
  for (let i = 0; i < 64; i++) Object.assign(data, { [`e${i}`]: `entry${i}`, [`t${i}`]: `v${i}` });
  const { batch, reads } = batchOver(data);
  const lists = Array.from(
    { length: 64 },
    (_, i) => i % 2 ? [`e${i}`, "g", "all", `t${i}`] : [`e${i}`, "g", `t${i}`, "all"],
  );
  lists.push(["e3", "g", "t5"], ["e3", "g", "all", "t3"]); // an entry key again: with other dependencies, and the same
  const answers = await Promise.all(lists.map((keys) => batch.read(keys)));
  assert.equal(reads.length, 1);
  assert.equal(reads[0].length, new Set(lists.flat()).size, "each key read once");
  answers.forEach((raws, n) => assert.deepEqual(raws, lists[n].map((key) => data[key]), lists[n].join()));
});
