import { testFaults } from "../../src/testing/mod.ts";
import { memoryStore } from "../../adapters/memory.ts";
testFaults("memory", () => memoryStore());
