/**
 * Runs the seed's two complete examples as programs and checks every step they print. With CACHE_URL set
 * (the test runner sets it per backend), the same programs run against that backend.
 */
import assert from "node:assert/strict";

async function run(example: string, env: Record<string, string> = {}): Promise<string[]> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `examples/${example}`],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr) + out);
  return out.trim().split("\n");
}

/** Backends the runner made available: the in-memory default, plus any URLs given. */
const backends: [string, Record<string, string>][] = [["memory", {}]];
for (
  const [name, url] of [["redis", "TEST_REDIS_URL"], ["cluster", "TEST_CLUSTER_URL"], [
    "upstash",
    "TEST_UPSTASH_URL",
  ], ["denokv", "TEST_DENOKV_URL"]]
) {
  const value = Deno.env.get(url);
  if (value) {
    backends.push([name, { CACHE_URL: value, CACHE_TOKEN: Deno.env.get("TEST_UPSTASH_TOKEN") ?? "" }]);
  }
}

for (const [backend, env] of backends) {
  const ns = { CACHE_PREFIX: `example${crypto.randomUUID().slice(0, 8)}`, ...env };

  Deno.test(`examples (${backend}): instances example - two caches, getOrSet, batch, soft invalidation, delete`, async () => {
    const lines = await run("instances_example.ts", ns);
    const expected: RegExp[] = [
      /^👤 User 1 \(db calls: 1\)$/,
      /^⚡ cached \(db calls: 1\)$/,
      /^🏳️ flags in config: \{"beta":true\}, in sessions: undefined$/,
      /^📦 loading user:2, user:3$/,
      /^👥 User 1, User 2, User 3$/,
      /^🕰️ after a soft invalidation: User 1 \(refreshing in the background\)$/,
      /^🗑️ user:2 after delete: undefined$/,
      /^📊 sessions hits: 3, config hits: 1$/,
    ];
    assert.equal(lines.length, expected.length, lines.join("\n"));
    lines.forEach((line, i) => assert.match(line, expected[i]));
  });

  Deno.test(`examples (${backend}): resource example - miss, hit, invalidation, fresh value, deletion, not found`, async () => {
    const lines = await run("resource_example.ts", { ...ns, CACHE_DEBUG: "1" });
    const steps = lines.filter((l) => !l.startsWith("[INIT]"));
    const expected: RegExp[] = [
      /^🔥 Cache MISS - fetching user 123 from DB$/,
      /^\[MISS\] key=user:profile:123 duration_ms=[\d.]+ms ttl=3600 cause=cache_miss$/,
      /^✅ Fetched profile: \{ userId: 123, name: "John Doe" \}$/,
      /^\[HIT\] key=user:profile:123 duration_ms=[\d.]+ms ttl=3600$/,
      /^⚡ Cached profile: \{ userId: 123, name: "John Doe" \}$/,
      /^💾 Updating user 123 and invalidating cache$/,
      /^\[INVALIDATE\] key=tags=\['user:123'\]$/,
      /^✅ Updated profile: \{ userId: 123, name: "New Name" \}$/,
      /^🔥 Cache MISS - fetching user 123 from DB$/,
      /^\[MISS\] key=user:profile:123 duration_ms=[\d.]+ms ttl=3600 cause=invalidated$/,
      /^✅ Fresh profile: \{ userId: 123, name: "New Name" \}$/,
      /^🗑️ Deleting user 123 and invalidating cache$/,
      /^\[INVALIDATE\] key=tags=\['user:123'\]$/,
      /^✅ Deleted user: true$/,
      /^🔥 Cache MISS - fetching user 123 from DB$/,
      /^✅ User successfully deleted - User 123 not found$/,
      /^📊 Cache hits: 1$/,
      /^📊 Cache misses: 3$/,
    ];
    assert.equal(steps.length, expected.length, steps.join("\n"));
    expected.forEach((pattern, i) => assert.match(steps[i], pattern));
  });

  Deno.test(`examples (${backend}): etag example - conditional refresh with the loader's context`, async () => {
    assert.deepEqual(await run("etag_example.ts", ns), [
      "👤 Ada (full responses: 1, 304s: 0)",
      "⚡ Ada from the cache (full responses: 1, 304s: 0)",
      "🔁 Ada after expiry, not modified (full responses: 1, 304s: 1)",
      "✏️ Ada Lovelace after a change (full responses: 2, 304s: 1)",
      "🚫 user 2: null",
    ]);
  });

  Deno.test(`examples (${backend}): manual decorators example - cold, warm, write, invalidated`, async () => {
    const lines = await run("manual_example.ts", ns);
    assert.deepEqual(lines, [
      "🔥 DB FETCH - user 123",
      '✅ Fetched profile: { userId: 123, name: "John Doe" }',
      '⚡ Cached profile: { userId: 123, name: "John Doe" }',
      "💾 DB SAVE - user 123",
      '✅ Updated profile: { userId: 123, name: "New Name" }',
      "🔥 DB FETCH - user 123",
      '✅ Fresh profile: { userId: 123, name: "New Name" }',
      "🎉 Cache invalidation worked!",
    ]);
  });
}

Deno.test("env: without --allow-env the cache neither prompts nor fails, and uses the defaults", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "tests/fixtures/no_permissions.ts"],
    env: { NO_COLOR: "1", CACHE_TTL_DEFAULT: "7", CACHE_PREFIX: "nope" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(stdout)), { value: "ok", hits: 1, ttl: 300 });
});
