import assert from "node:assert/strict";
import { Budget, Deadlines } from "./deadline.ts";

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

Deno.test("deadlines: calls of one turn share a timer, a later turn's call gets its own", async () => {
  // On Workers a timer dies with the request that set it: a call of another request must never rely on it.
  const deadlines = new Deadlines(1000);
  const signals: AbortSignal[] = [];
  const outcome = {
    expired: () => new Error("late"),
    succeeded() {},
    failed: (error: unknown) => error as Error,
  };
  const call = (signal: AbortSignal) => (signals.push(signal), Promise.resolve(1));
  await Promise.all([deadlines.bound(call, outcome), deadlines.bound(call, outcome)]);
  await deadlines.bound(call, outcome);
  assert.equal(signals.length, 3);
  assert.equal(signals[0], signals[1], "one turn: one timer");
  assert.notEqual(signals[1], signals[2], "the next turn: a timer of its own");
  const slow = deadlines.bound(() => new Promise(() => {}), outcome, 50);
  await assert.rejects(slow, /late/);
});

Deno.test("deadlines: a call that throws at once has failed (at once, with its error), not timed out", async () => {
  const deadlines = new Deadlines(200);
  const seen: string[] = [];
  const outcome = {
    expired: () => (seen.push("expired"), new Error("late")),
    succeeded: () => seen.push("succeeded"),
    failed: (error: unknown) => (seen.push("failed"), error as Error),
  };
  const started = performance.now();
  await assert.rejects(
    deadlines.bound(() => {
      throw new TypeError("client.mGet is not a function");
    }, outcome),
    /client\.mGet is not a function/,
  );
  assert.ok(performance.now() - started < 100, "at once, not at the deadline");
  await sleep(250);
  assert.deepEqual(seen, ["failed"], "its failure counted once; the deadline passing later is nothing");
});
