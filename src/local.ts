/**
 * `Local`: gevent's greenlet-local storage, one value per greenlet. A spawned greenlet
 * starts with no value, whatever its parent set; siblings never see each other's.
 * Context that should flow into children is Node's own AsyncLocalStorage.
 */
import { currentCore, type Core } from './hub/index.js';

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
  readonly #values = new WeakMap<Core, T>();

  /** This greenlet's value, or undefined if it never set one. */
  get(): T | undefined {
    return this.#values.get(currentCore());
  }

  /** Set this greenlet's value. */
  set(value: T): void {
    this.#values.set(currentCore(), value);
  }

  /** True if this greenlet set a value. */
  has(): boolean {
    return this.#values.has(currentCore());
  }

  /** Forget this greenlet's value. */
  delete(): boolean {
    return this.#values.delete(currentCore());
  }
}
