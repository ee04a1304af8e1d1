// What observability and integrity cost a hit, in one Node process on the packed build, subjects interleaved
// round-robin: memory-tier and Redis hits with nothing on, with an event listener, with OpenTelemetry (the real
// SDKs: a metric reader, a tracer exporting to memory in batches; spans on loads, the default, or on store
// calls too), and Redis hits with signed and with encrypted entries. N warm keys hit in turn, one tag each, sequential awaits. Run through `npm run bench`. Prints JSON.
//   node bench/observability_costs.mjs <redis-url> [ops] [rounds]
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import * as ours from "../npm/esm/mod.js";
import { otel } from "../npm/esm/telemetry.js";
import { sealed } from "../npm/esm/integrity.js";
import { measure } from "./_rounds.mjs";

const [redisUrl] = process.argv.slice(2);
const OPS = Number(process.argv[3] ?? 50_000);
const ROUNDS = Number(process.argv[4] ?? 5);
const KEYS = 1000;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const key = () => crypto.getRandomValues(new Uint8Array(32));

class PullReader extends MetricReader {
  onShutdown() {
    return Promise.resolve();
  }
  onForceFlush() {
    return Promise.resolve();
  }
}

/** OpenTelemetry as an application installs it: a meter provider with a reader, spans exported in batches. */
function sdk() {
  const reader = new PullReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  return {
    telemetry: { meter: meterProvider.getMeter("bench"), tracer: tracerProvider.getTracer("bench") },
    // Spans pile up in the exporter: emptied between rounds, as a real exporter ships them.
    drain: () => exporter.reset(),
  };
}

async function subject(options, setup) {
  const prefix = `obs${Math.random().toString(36).slice(2, 8)}`;
  const cache = await ours.createCache({ prefix, logger: quiet, ...options });
  setup?.(cache);
  const read = cache.cacheRead({ key: "u:{id}", tags: ["u:{id}"], ttl: 3600, name: "getUser" }, ({ id }) => ({
    id,
    name: `user ${id}`,
    email: `user${id}@example.com`,
  }));
  return { get: (id) => read({ id }), close: () => cache.close() };
}

/** Runs the subjects interleaved; `ops` per run is long enough (a few hundred ms) that one GC pause cannot decide it. */
async function run(subjects, ops) {
  const runs = [], opened = [];
  for (const [name, make] of Object.entries(subjects)) {
    const { s, between } = await make();
    opened.push(s);
    for (let id = 0; id < KEYS; id++) await s.get(id);
    let i = 0;
    runs.push([name, async () => {
      for (let k = 0; k < ops; k++) await s.get(i++ % KEYS);
      return ops;
    }, between]);
  }
  const result = await measure(runs, ROUNDS);
  for (const s of opened) await s.close();
  return result;
}

const plain = (options) => async () => ({ s: await subject(options) });
const withListener = (options) => async () => ({
  s: await subject(options, (cache) => cache.on("hit", () => {})),
});
const withTelemetry = (options, spans) => async () => {
  const { telemetry, drain } = sdk();
  return { s: await subject({ ...options, telemetry: otel({ ...telemetry, spans }) }), between: drain };
};

const memory = await run({
  "memory tier": plain({}),
  "memory tier, an event listener": withListener({}),
  "memory tier, OpenTelemetry": withTelemetry({}),
}, OPS * 10); // a memory hit is about a hundred times faster than a Redis one
const redis = await run({
  "redis": plain({ url: redisUrl }),
  "redis, OpenTelemetry": withTelemetry({ url: redisUrl }),
  "redis, OpenTelemetry with store-call spans": withTelemetry({ url: redisUrl }, "all"),
  "redis, signed entries": plain({ url: redisUrl, integrity: sealed({ signingKeys: [key()] }) }),
  "redis, encrypted entries": plain({ url: redisUrl, integrity: sealed({ encryptionKeys: [key()] }) }),
}, OPS);
console.log(JSON.stringify({ keys: KEYS, memory, redis }));
