import { testAdapter } from "../../src/testing/conformance.ts";
import { memoryStore } from "../../adapters/memory.ts";
testAdapter("memory", () => memoryStore());
