/**
 * OpenTelemetry cases shared by Deno (tests/telemetry_test.ts) and Node (tests/node/telemetry.node.ts): the
 * cache's instruments and spans reach a real SDK's in-memory exporters (`@opentelemetry/sdk-metrics`,
 * `@opentelemetry/sdk-trace-base`), and spans nest under the caller's active span.
 *
 * @module
 */

import assert from "node:assert/strict";
import { context, metrics, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { createCache } from "../mod.ts";
import { otel } from "../src/telemetry/mod.ts";
import { memoryStore } from "../adapters/memory.ts";
import { faultStore } from "../src/testing/fault_store.ts";

interface Point {
  attributes: Record<string, unknown>;
  value: number | { count: number; sum?: number };
}

/** What the SDK exported when flushed: instrument name → its data points (the latest export). */
async function collect(exported: Exported): Promise<Map<string, Point[]>> {
  await exported.reader.forceFlush();
  const out = new Map<string, Point[]>();
  for (const scope of exported.exporter.getMetrics().at(-1)?.scopeMetrics ?? []) {
    for (const metric of scope.metrics) out.set(metric.descriptor.name, metric.dataPoints as Point[]);
  }
  return out;
}

interface Exported {
  reader: PeriodicExportingMetricReader;
  exporter: InMemoryMetricExporter;
}

const total = (points: Point[] | undefined, where: Record<string, string> = {}) =>
  (points ?? []).filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v))
    .reduce((n, p) => n + (typeof p.value === "number" ? p.value : p.value.count), 0);

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function sdk() {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exports when the test flushes it (the interval is longer than any test).
  const metricReader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  const exported: Exported = { reader: metricReader, exporter: metricExporter };
  const meterProvider = new MeterProvider({ readers: [metricReader] });
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { exported, meterProvider, exporter, tracerProvider };
}

const parentOf = (span: ReadableSpan) =>
  (span as unknown as { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId ??
    (span as unknown as { parentSpanId?: string }).parentSpanId;

/** Registers the cases with `test` (Deno.test or node:test). */
export function telemetryCases(test: (name: string, fn: () => Promise<void>) => void): void {
  test("telemetry: counters and histograms reach the SDK with function, store, tier and result", async () => {
    const { exported, meterProvider, tracerProvider } = sdk();
    const store = faultStore(memoryStore());
    const cache = await createCache({
      store,
      logger: quiet,
      deadlineMs: 50,
      telemetry: otel({ meter: meterProvider.getMeter("t"), tracer: tracerProvider.getTracer("t") }),
    });
    const user = cache.cacheRead(
      { key: "u:{id}", tags: ["u:{id}"], ttl: 60, name: "getUser" },
      ({ id }: { id: number }) => id,
    );
    await user({ id: 1 });
    await user({ id: 1 });
    await user({ id: 2 });
    await cache.invalidateTags(["u:1", "u:2"]);
    const failing = cache.cacheRead(
      { key: "f", ttl: 60, name: "fails" },
      () => Promise.reject(new Error("db down")),
    );
    await assert.rejects(failing(), /db down/);
    store.fault = { mode: "throw", message: "refused" };
    assert.equal(await user({ id: 3 }), 3);
    store.fault = { mode: "none" };
    const got = await collect(exported);
    assert.equal(total(got.get("cache.hits"), { "cache.function": "getUser", "cache.tier": "l2" }), 1);
    assert.equal(total(got.get("cache.misses"), { "cache.function": "getUser", "cache.result": "miss" }), 3);
    assert.equal(
      total(got.get("cache.loads"), { "cache.function": "getUser", "cache.store": store.name }),
      3,
    );
    assert.equal(total(got.get("cache.load_errors"), { "cache.function": "fails" }), 1);
    assert.equal(total(got.get("cache.invalidations")), 2);
    assert.ok(total(got.get("cache.backend_errors")) >= 1, "failed store calls counted");
    assert.equal(total(got.get("cache.load.duration"), { "cache.result": "ok" }), 3);
    assert.equal(total(got.get("cache.load.duration"), { "cache.result": "error" }), 1);
    assert.ok(total(got.get("cache.backend.duration"), { "cache.operation": "read" }) >= 3);
    await cache.close();
    await meterProvider.shutdown();
  });

  test("telemetry: load and store-call spans are children of the caller's span, parents of the loader's", async () => {
    const { exporter, meterProvider, tracerProvider } = sdk();
    const tracer = tracerProvider.getTracer("app");
    const cache = await createCache({
      store: faultStore(memoryStore()),
      logger: quiet,
      telemetry: otel({
        meter: meterProvider.getMeter("t"),
        tracer: tracerProvider.getTracer("t"),
        spans: "all",
      }),
    });
    await tracer.startActiveSpan("GET /users/1", async (request) => {
      await cache.getOrSet("user:1", () =>
        tracer.startActiveSpan("SELECT users", (query) => {
          query.end();
          return Promise.resolve({ id: 1 });
        }), { ttl: 60 });
      request.end();
    });
    const spans = exporter.getFinishedSpans();
    const named = (name: string) => spans.filter((s) => s.name === name);
    const [request] = named("GET /users/1");
    const [load] = named("cache.load");
    const [query] = named("SELECT users");
    assert.ok(request && load && query, spans.map((s) => s.name).join());
    assert.equal(parentOf(load), request.spanContext().spanId, "cache.load under the caller's span");
    assert.equal(parentOf(query), load.spanContext().spanId, "the loader's span under cache.load");
    assert.equal(load.attributes["cache.function"], "getOrSet");
    const reads = named("cache.backend read");
    assert.ok(reads.length >= 1 && reads.every((s) => parentOf(s) === request.spanContext().spanId));
    assert.equal(reads[0].kind, 2, "store calls are CLIENT spans");
    const failing = () => cache.getOrSet("f", () => Promise.reject(new Error("db down")), { ttl: 60 });
    await assert.rejects(failing(), /db down/);
    const failed = exporter.getFinishedSpans().filter((s) => s.name === "cache.load").at(-1)!;
    assert.equal(failed.status.code, 2, "a failed load's span has an error status");
    assert.equal(failed.events[0]?.name, "exception", "with the exception recorded");
    await cache.close();
    await meterProvider.shutdown();
  });

  test("telemetry: otel() takes the global meter and tracer of @opentelemetry/api", async () => {
    const { exported, meterProvider, exporter, tracerProvider } = sdk();
    metrics.setGlobalMeterProvider(meterProvider);
    trace.setGlobalTracerProvider(tracerProvider);
    try {
      const cache = await createCache({ telemetry: otel(), store: faultStore(memoryStore()) }); // remote-like
      await cache.getOrSet("k", () => 1);
      await cache.getOrSet("k", () => 1);
      const got = await collect(exported);
      assert.equal(total(got.get("cache.hits")), 1);
      assert.equal(total(got.get("cache.misses")), 1);
      const names = exporter.getFinishedSpans().map((s) => s.name);
      assert.ok(names.includes("cache.load"), "loads have spans by default");
      assert.ok(!names.some((n) => n.startsWith("cache.backend")), 'store calls only with spans: "all"');
      await cache.close();
      await meterProvider.shutdown();
      await assert.rejects(
        createCache({ telemetry: otel({ spans: "some" as never }) }),
        /Cannot create cache: telemetry.spans must be "loads"/,
      );
      await assert.rejects(createCache({ telemetry: "yes" as never }), TypeError);
      // The old forms name the new one.
      for (const old of [true, { spans: "all" }]) {
        await assert.rejects(
          createCache({ telemetry: old as never }),
          /telemetry takes the feature its entry point makes; write telemetry: otel\(\) or otel\(\{ meter, tracer, spans \}\) with otel from "@svc-infra\/cache\/telemetry"/,
        );
      }
    } finally {
      metrics.disable();
      trace.disable();
    }
  });
}
