import assert from "node:assert/strict";
import { Budget } from "./deadline.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("budget: within gives a shared wait what is left, and spends what it waited once", async () => {
  const budget = new Budget(1000);
  assert.equal(await budget.within(() => sleep(20).then(() => "v"), () => new Error("late")), "v");
  assert.ok(budget.remainingMs <= 985 && budget.remainingMs > 500, `spent the wait: ${budget.remainingMs}`);

  const short = new Budget(60);
  const slow = sleep(300);
  const t0 = performance.now();
  await assert.rejects(short.within(() => slow, () => new Error("no time left")), /no time left/);
  const took = performance.now() - t0;
  assert.ok(took >= 55 && took < 250, `rejected when the budget ran out: ${took.toFixed(0)} ms`);
  assert.ok(short.remainingMs <= 5, `spent: ${short.remainingMs}`);
  const left = short.remainingMs;
  await slow;
  await sleep(5);
  assert.equal(short.remainingMs, left, "the late answer spends nothing more");

  let called = false;
  await assert.rejects(short.within(() => (called = true, sleep(1)), () => new Error("spent")), /spent/);
  assert.equal(called, false, "nothing left: not called");
});
