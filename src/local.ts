/**
 * `Local`: gevent's greenlet-local storage, one value per greenlet. A spawned greenlet
 * starts with no value, whatever its parent set; siblings never see each other's.
 * Context that should flow into children is Node's own AsyncLocalStorage. A task of
 * `Pool.map`/`imap`/`imapUnordered` has its own values, though it runs in a worker greenlet.
 */
import { currentCore, type Core } from './hub/index.js';

/** @internal What keys a greenlet's values instead of the greenlet: a map worker's current task. */
export interface LocalScope {
  readonly localKey: object;
}
// Weak: a scope goes with its greenlet. Few greenlets have one (map workers).
const scopes = new WeakMap<Core, LocalScope>();

/** @internal Key `g`'s `Local` values by `scope.localKey` from now on. */
export function setLocalScope(g: Core, scope: LocalScope): void {
  scopes.set(g, scope);
}

function keyOf(): object {
  const c = currentCore();
  const s = scopes.get(c);
  return s === undefined ? c : s.localKey;
}

/**
 * One value per greenlet (the main greenlet has its own).
 * @example
 * import { Local, spawn } from 'greenio';
 * const user = new Local<string>();
 * user.set('main');
 * const g = spawn(() => user.get());
 * console.log(await g.get()); // undefined
 */
export class Local<T> {
  // Weak: a dead greenlet's value goes with it.
  readonly #values = new WeakMap<object, T>();

  /** This greenlet's value, or undefined if it never set one. */
  get(): T | undefined {
    return this.#values.get(keyOf());
  }

  /** Set this greenlet's value. */
  set(value: T): void {
    this.#values.set(keyOf(), value);
  }

  /** True if this greenlet set a value. */
  has(): boolean {
    return this.#values.has(keyOf());
  }

  /** Forget this greenlet's value. */
  delete(): boolean {
    return this.#values.delete(keyOf());
  }
}
