import { faultStore, testAdapter } from "../../src/testing/mod.ts";
import { memoryStore } from "../../adapters/memory.ts";
testAdapter("eventual (writes visible after 30 ms)", () => {
  const store = faultStore(memoryStore(), { inProcess: true });
  store.fault = { mode: "lag", ms: 30 };
  return store;
}, { eventualMs: 100 });
