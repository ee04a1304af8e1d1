/**
 * Lua scripts shared by the Redis and Upstash adapters: the compare-and-set and compare-and-delete the core
 * needs, each one atomic round trip.
 *
 * @module
 */

/** Sets `KEYS[1]` to `ARGV[2]` (ttl `ARGV[3]` ms) only when its value starts with `ARGV[1]`. */
export const SET_IF_STARTS_WITH = `local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

/**
 * Replaces both ends of `KEYS[1]`'s value, its middle kept (ttl `ARGV[5]` ms), only when it starts with
 * `ARGV[1]` and then ends with `ARGV[2]`: `ARGV[3]` replaces the start, `ARGV[4]` the end. Lengths in bytes.
 */
export const REFRESH_ENDS = `local v = redis.call('GET', KEYS[1])
if not v or #v < #ARGV[1] + #ARGV[2] or string.sub(v, 1, #ARGV[1]) ~= ARGV[1]
  or string.sub(v, #v - #ARGV[2] + 1) ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3] .. string.sub(v, #ARGV[1] + 1, #v - #ARGV[2]) .. ARGV[4], 'PX', ARGV[5])
return 1`;

/** Deletes `KEYS[1]` only when its value starts with `ARGV[1]`. */
export const DELETE_IF_STARTS_WITH = `local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** The first `ARGV[1]` bytes of each key's value (`""` when missing): what validating an L1 copy needs. */
export const GET_HEADS = `local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('GETRANGE', key, 0, tonumber(ARGV[1]) - 1) end
return out`;
