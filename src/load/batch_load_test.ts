import assert from "node:assert/strict";
import { createCache, type LoaderContext } from "../../mod.ts";
import { memoryStore } from "../store/memory_store.ts";

Deno.test("batch load: a key loaded again after ctx.addTags fails alone; the batch's other keys are answered and stored", async () => {
  const store = memoryStore();
  const [a, b] = [await createCache({ store }), await createCache({ store })];
  await a.set("other", 1, { ttl: 60, tags: ["org:1"] }); // the tag's version exists before the load
  let release!: () => void, started!: () => void;
  const gate = new Promise<void>((r) => release = r), running = new Promise<void>((r) => started = r);
  let calls = 0;
  const batch = async (keys: string[], ctx: readonly LoaderContext[]) => {
    if (++calls === 2) throw new Error("second call failed");
    ctx[keys.indexOf("k7")]?.addTags("org:1");
    started();
    await gate;
    return keys.map((key) => `${key}:${calls}`);
  };
  const whole = a.getOrSetMany(["k7", "k8"], batch, { ttl: 60 });
  whole.catch(() => {});
  await running;
  await b.invalidateTags(["org:1"]); // k7's tag, invalidated while the batch loads it
  const joined7 = a.getOrSet("k7", () => "single", { ttl: 60 });
  joined7.catch(() => {});
  const joined8 = a.getOrSet("k8", () => "single", { ttl: 60 });
  await new Promise((r) => setTimeout(r, 50)); // both have read and joined the batch's loads
  release();
  assert.equal(await joined8, "k8:1", "k8's load is answered, not failed by k7's second call");
  await assert.rejects(
    joined7,
    /second call failed/,
    "k7's caller, who read after the invalidation, gets the second load",
  );
  await assert.rejects(whole, /second call failed/, "the batch asked for k7 too");
  assert.equal(calls, 2);
  assert.equal(await b.get("k8"), "k8:1", "k8 is stored");
  assert.equal(await b.get("k7"), undefined, "k7 is not");
  await Promise.all([a.close(), b.close()]);
});
