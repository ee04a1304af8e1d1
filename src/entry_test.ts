import assert from "node:assert/strict";
import { decodeEntry, encodeEntry, type Entry } from "./entry.ts";

const entry: Entry = {
  createdAt: 1,
  freshUntil: 2,
  refreshAt: 2,
  staleUntil: 3,
  negative: true,
  ttl: 60,
  versions: ["ab", "cd"],
  payload: '[{"a":1},"x\\n|y"]',
};

Deno.test("entry: round-trips, payload may hold separators", () => {
  assert.deepEqual(decodeEntry(encodeEntry(entry)), entry);
  assert.deepEqual(decodeEntry(encodeEntry({ ...entry, versions: [] }))?.versions, []);
});

Deno.test("entry: anything else reads as undefined", () => {
  for (
    const raw of [
      "",
      "garbage",
      "svc1|1|2\n",
      "svc0|1|2|2|3|0|60|\nx",
      "svc1|a|2|2|3|0|60|\nx",
      "svc1|1|2|2|3|7|60|\nx",
    ]
  ) {
    assert.equal(decodeEntry(raw), undefined, raw);
  }
});
