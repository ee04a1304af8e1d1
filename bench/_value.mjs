// The value the memory-tier benchmarks cache (a user record), one definition so that every subject and every
// measure (hits, memory per entry, where the bytes and the time go) caches the same thing. `roles` is an array
// literal, as in ordinary code: V8 shares its elements between the objects made from it.

/** The cached value for `id`. */
export const userValue = (id) => ({
  id,
  name: `user ${id}`,
  email: `user${id}@example.com`,
  roles: ["reader", "writer"],
});
