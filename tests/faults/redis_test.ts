import { testFaults } from "../../src/testing/mod.ts";
import { redisStore } from "../../adapters/redis.ts";
for (const [name, url] of [["redis", "TEST_REDIS_URL"], ["redis cluster", "TEST_CLUSTER_URL"]]) {
  const value = Deno.env.get(url);
  if (value) testFaults(name, () => redisStore(value));
}
