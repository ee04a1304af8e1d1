import assert from "node:assert/strict";
import { createCache, getMetrics, prometheusMetrics } from "../../mod.ts";
import { memoryStore } from "../store/memory_store.ts";
import { faultStore } from "../testing/fault_store.ts";
import { freshCache, RecordingLogger } from "../../tests/_helpers.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  name: string;
  type: string;
  samples: Sample[];
}

/** Parses with the Prometheus project's Python client: what a scraper accepts, not what we think we wrote. */
async function parse(text: string): Promise<Family[]> {
  const child = new Deno.Command("/usr/bin/python3", {
    args: [new URL("../../tests/fixtures/parse_prometheus.py", import.meta.url).pathname],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, `the parser rejected the text: ${new TextDecoder().decode(stderr)}\n${text}`);
  return JSON.parse(new TextDecoder().decode(stdout));
}

/** The family `name` (the parser names counters without `_total`). */
function family(families: Family[], name: string): Family {
  const found = families.find((f) => f.name === name);
  assert.ok(found, `${name} in ${families.map((f) => f.name)}`);
  return found;
}

/** What `sum(metric)` over every series of a counter family gives. */
const sum = (f: Family, sample = `${f.name}_total`) =>
  f.samples.filter((s) => s.name === sample).reduce((n, s) => n + s.value, 0);

Deno.test("prometheus: counters are _total, durations are histograms in seconds, no averages as gauges", async () => {
  const store = faultStore(memoryStore()); // remote-like, so store calls are timed
  const cache = await createCache({ store, logger: new RecordingLogger() });
  for (let i = 0; i < 5; i++) await cache.getOrSet(`k${i % 2}`, () => i, { ttl: 60 });
  const families = await parse(prometheusMetrics(cache));
  assert.equal(sum(family(families, "cache_hit")), 3);
  assert.equal(sum(family(families, "cache_miss")), 2);
  assert.equal(family(families, "cache_hit").type, "counter");
  assert.equal(family(families, "cache_invalidate_pending").type, "gauge");
  assert.ok(
    !families.some((f) => f.type === "gauge" && f.name !== "cache_invalidate_pending"),
    "no other gauge",
  );
  for (const name of ["cache_load_duration_seconds", "cache_backend_duration_seconds"]) {
    const histogram = family(families, name);
    assert.equal(histogram.type, "histogram");
    const buckets = histogram.samples.filter((s) => s.name === `${name}_bucket`);
    const counts = buckets.map((s) => s.value);
    assert.equal(buckets.at(-1)!.labels.le, "+Inf");
    assert.deepEqual(counts, [...counts].sort((a, b) => a - b), "buckets are cumulative");
    assert.equal(counts.at(-1), sum(histogram, `${name}_count`));
    const seconds = sum(histogram, `${name}_sum`);
    assert.ok(seconds >= 0 && seconds < counts.at(-1)!, `${name} sum is in seconds: ${seconds}`);
  }
  const loads = family(families, "cache_load_duration_seconds");
  assert.equal(sum(loads, "cache_load_duration_seconds_count"), 2);
  await cache.close();
});

Deno.test("prometheus: per-function series and the unlabelled remainder sum to the total, across two instances", async () => {
  const processes = [await createCache({ metrics: true }), await createCache({ metrics: true })];
  for (const [i, cache] of processes.entries()) {
    const user = cache.cacheRead(
      { key: "user:{id}", ttl: 60, name: "getUser" },
      ({ id }: { id: number }) => id,
    );
    for (let n = 0; n < 3 + i; n++) await user({ id: n % 2 });
    await cache.get("absent"); // a miss of the method "get"
    await cache.set("x", 1);
    await cache.get("x"); // a hit of "get"
    await cache.invalidateTags(["t"]); // counted without a function
  }
  const scraped = await Promise.all(processes.map((cache) => parse(prometheusMetrics(cache))));
  const across = (name: string) => scraped.reduce((n, families) => n + sum(family(families, name)), 0);
  const totals = processes.map((cache) => cache.metrics());
  const expected = (name: string) => totals.reduce((n, m) => n + m[name], 0);
  assert.equal(across("cache_hit"), expected("cache.hit"), "hits: sum(series) is the total, not twice it");
  assert.equal(across("cache_miss"), expected("cache.miss"));
  assert.equal(across("cache_invalidate_count"), 2);
  const hits = family(scraped[0], "cache_hit").samples;
  assert.deepEqual(
    hits.map((m) => [m.labels.fn ?? "", m.value]).sort(),
    [["get", 1], ["getUser", 1]],
    "one series per function, no unlabelled remainder when every hit had a function",
  );
  const loadCount = (families: Family[]) =>
    sum(family(families, "cache_load_duration_seconds"), "cache_load_duration_seconds_count");
  assert.equal(loadCount(scraped[0]) + loadCount(scraped[1]), expected("cache.load"));
  await Promise.all(processes.map((cache) => cache.close()));
});

Deno.test("prometheus: the default cache's text parses; label values are escaped; getMetrics keeps its names", async () => {
  await freshCache({ metrics: true });
  const odd = createCache({ metrics: true });
  const cache = await odd;
  await cache.cacheRead({ key: "q", ttl: 60, name: 'say "hi"\\now' }, () => 1)();
  const [series] = family(await parse(prometheusMetrics(cache)), "cache_miss").samples;
  assert.equal(series.labels.fn, 'say "hi"\\now');
  // A line break in a name stays in its label: it never turns into a family of its own.
  await cache.cacheRead({ key: "r", ttl: 60, name: "two\nlines\r\u2028" }, () => 1)();
  const misses = family(await parse(prometheusMetrics(cache)), "cache_miss").samples;
  assert.deepEqual(misses.map((s) => s.labels.fn).sort(), ['say "hi"\\now', "two\nlines\r\u2028"].sort());
  assert.ok(!prometheusMetrics(cache).includes("two_lines"), "no metric is named after the function");
  assert.ok((await parse(prometheusMetrics())).length > 10);
  const names = Object.keys(getMetrics());
  assert.ok(names.includes("cache.hit") && names.includes("cache.warm.ms"), "getMetrics() names unchanged");
  await cache.close();
});
