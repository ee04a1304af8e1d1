import assert from "node:assert/strict";
import { entryMeta } from "../../tests/_helpers.ts";
import { type Verdict, verdict } from "./verdict.ts";
import type { Validity } from "./versions.ts";

// Fresh until 100, servable stale until 200.
const graced = entryMeta({ freshUntil: 100, refreshAt: 100, staleUntil: 200 });
// No grace window: staleUntil = freshUntil.
const plain = entryMeta({ freshUntil: 100, refreshAt: 100, staleUntil: 100 });

Deno.test("verdict: the rule, row by row (entry, versions, pending, now, grace, refreshing)", () => {
  const rows: [
    typeof graced | undefined,
    Validity,
    boolean,
    number,
    boolean,
    boolean,
    Verdict,
    string,
  ][] = [
    [undefined, "valid", false, 0, true, false, "corrupt", "an entry that did not decode"],
    [graced, "valid", false, 99, false, false, "fresh", "before freshUntil"],
    [graced, "valid", false, 100, false, false, "expired", "at freshUntil, without grace"],
    [graced, "valid", false, 100, true, false, "stale", "at freshUntil, with grace"],
    [graced, "valid", false, 199, true, true, "stale", "stale while a refresh runs (the caller may join it)"],
    [graced, "valid", false, 200, true, false, "expired", "at staleUntil, even with grace"],
    [plain, "valid", false, 100, true, false, "expired", "no grace window"],
    [graced, "invalid", false, 0, true, false, "invalidated", "a version gone or created anew"],
    [graced, "valid", true, 0, true, false, "invalidated", "an invalidation pending here"],
    [graced, "soft", true, 0, true, false, "invalidated", "pending beats soft"],
    [graced, "soft", false, 0, true, false, "stale", "soft, fresh: stale with grace"],
    [graced, "soft", false, 150, true, false, "stale", "soft, in the grace window"],
    [graced, "soft", false, 0, false, false, "invalidated_soft", "soft without grace"],
    [graced, "soft", false, 0, true, true, "invalidated_soft", "soft while a refresh runs: join it"],
    [graced, "soft", false, 200, true, false, "invalidated_soft", "soft past the grace window"],
    [plain, "soft", false, 0, true, false, "invalidated_soft", "soft, no grace window"],
  ];
  for (const [entry, versions, pending, now, grace, refreshing, expected, why] of rows) {
    assert.equal(verdict(entry, versions, pending, now, grace, refreshing), expected, why);
  }
});
