/**
 * OpenTelemetry on Node: the cases of tests/telemetry_cases.ts under Node's test runner (`npm test` bundles
 * this file with esbuild and runs it with `node --test`).
 *
 * @module
 */

import { test } from "node:test";
import { telemetryCases } from "../telemetry_cases.ts";

telemetryCases((name, fn) => void test(name, fn));
