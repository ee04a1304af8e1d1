/**
 * Reads `CACHE_*` settings from the environment on every runtime: an explicit env object (Workers),
 * `Deno.env` when permission is already granted (never prompts), or `process.env` (Node, Bun).
 *
 * @module
 */

/**
 * An environment: any object whose string properties are settings, such as a Worker's `env` (its bindings,
 * which are objects, are not settings and are ignored). `object`, so that a Worker's own `interface Env`
 * (which has no index signature) is accepted as it is.
 */
export type Env = object;

interface DenoEnvGlobal {
  Deno?: {
    env: { get(name: string): string | undefined };
    permissions?: { querySync?(d: { name: "env"; variable: string }): { state: string } };
  };
  process?: { env: Readonly<Record<string, string | undefined>> };
}

/** Returns the variable from `env` when given, else from the runtime; `undefined` when unset or unreadable. */
export function readEnv(name: string, env?: Env): string | undefined {
  if (env) {
    const value = (env as Record<string, unknown>)[name];
    return typeof value === "string" ? value : undefined;
  }
  const g = globalThis as unknown as DenoEnvGlobal;
  if (g.Deno) {
    try {
      // Without --allow-env Deno would prompt or throw: ask first, quietly.
      const state = g.Deno.permissions?.querySync?.({ name: "env", variable: name }).state ?? "granted";
      return state === "granted" ? g.Deno.env.get(name) : undefined;
    } catch {
      return undefined;
    }
  }
  return g.process?.env?.[name];
}

/** `true` for "1", "true", "yes", "on" (any case). */
export function envFlag(name: string, env?: Env): boolean {
  const value = readEnv(name, env)?.trim().toLowerCase();
  return value === "1" || value === "true" || value === "yes" || value === "on";
}
