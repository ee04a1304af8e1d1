/** OpenTelemetry on Deno; the cases are in tests/telemetry_cases.ts (Node runs them too). @module */
import { telemetryCases } from "./telemetry_cases.ts";

telemetryCases((name, fn) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false }));
