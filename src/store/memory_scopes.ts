/**
 * The namespaces of the memory store's slots: `clearScope` marks a namespace's scope cleared (its slots then
 * read as gone, one field compared on a hit) and forgets it, so later writes under the name start a new one.
 * O(namespaces with live slots), never O(entries): cleared slots go when next looked at, swept or evicted.
 *
 * @module
 */

import { type Scope, UNSCOPED } from "./memory_slots.ts";

/** The current scope of each namespace that live slots were written under. */
export class Scopes {
  readonly #scopes = new Map<string, Scope>();

  /** The scope of a slot written under `name` (`undefined`: none); the slot is counted until it leaves. */
  enter(name: string | undefined): Scope {
    if (name === undefined) return UNSCOPED;
    let scope = this.#scopes.get(name);
    if (scope === undefined) this.#scopes.set(name, scope = { name, cleared: false, slots: 0 });
    scope.slots++;
    return scope;
  }

  /** A slot is gone (dropped or overwritten): its scope is forgotten with its last slot. */
  leave(scope: Scope): void {
    if (scope !== UNSCOPED && --scope.slots === 0 && this.#scopes.get(scope.name) === scope) {
      this.#scopes.delete(scope.name);
    }
  }

  /** Clears every scope whose name starts with `prefix`: namespaces nest by prefix, so a parent's reaches its children. */
  clear(prefix: string): void {
    for (const [name, scope] of this.#scopes) {
      if (!name.startsWith(prefix)) continue;
      scope.cleared = true;
      this.#scopes.delete(name);
    }
  }

  reset(): void {
    this.#scopes.clear();
  }
}
