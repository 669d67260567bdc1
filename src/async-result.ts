/**
 * `AsyncResult` (gevent.event): a value or an error that arrives once, for any number of
 * waiters and links. Setting it only schedules: waiters resume later, in the order they
 * came, and every wait goes through the hub, so kill and Timeout interrupt it and leave
 * no waiter registered. Limit: it works within one process only.
 */
import * as hub from './hub/index.js';
import { nameFromOptions, nameOf } from './instrument/resources.js';
import { waitDetail, type WaitTarget } from './instrument/leaks.js';
import { Op, type AnyOp, type OpHandler } from './hub/index.js';
import type { GetOptions } from './greenlet.js';
import { checkBoolean, checkFunction, checkOptions, checkTimeout } from './internal/validate.js';
import { kAddWatcher, kRemoveWatcher, LinkRunner, type Waitable, type Watcher } from './hub/index.js';
import { ParkedList, parkedHandler, type LinkFn, type Parked } from './hub/index.js';
import { TimeoutError } from './timeout.js';

const K_GET = hub.kind('asyncresult.get');
const K_WAIT = hub.kind('asyncresult.wait');

const PENDING = 0;
const VALUE = 1;
const FAILED = 2;

const AR_GET: OpHandler<unknown> = parkedHandler();
const AR_WAIT: OpHandler<unknown> = parkedHandler((op) => op.resolve(undefined));

/**
 * A value or an error that arrives once, for any number of waiters (gevent's
 * `AsyncResult`): `set(value)` or `setException(err)` stores it and wakes everyone in
 * `get()`/`wait()` and every `link` callback, in the order they came. Not a thenable,
 * like `Greenlet` (API.md): `await result.get()`. It is a waitable: `wait([result])`.
 *
 * Setting it again is allowed, as in gevent: the latest `set()`/`setException()` is
 * what later `get()`, `wait()`, `value` and `exception` see. Waiters and links already
 * woken by the first one are not woken again (unlike gevent, where the stored value
 * wins over a later exception, the latest call replaces the whole outcome).
 * @example
 * import { AsyncResult, spawn, sleep } from 'greenio';
 * const result = new AsyncResult<number>();
 * spawn(async () => {
 *   await sleep(10);
 *   result.set(42);
 * });
 * console.log(await result.get()); // 42
 */
export class AsyncResult<T = unknown> implements Waitable {
  #state = PENDING;
  #value: T | undefined = undefined;
  #exception: unknown = undefined;
  readonly #waiters = new ParkedList();
  #detail: WaitTarget | null = null; // as Event's
  /** Once ready: its links being run (an earlier one may unlink a later one). */
  #links: LinkRunner<AsyncResult<unknown>> | null = null;

  /** `options.name`: a name for run-info and `greenio ps`/`top`. */
  constructor(options?: { name?: string }) {
    nameFromOptions(this, options);
  }

  /** The name given to the constructor, if any. */
  get name(): string | undefined {
    return nameOf(this);
  }

  /** True once it holds a value or an error. */
  ready(): boolean {
    return this.#state !== PENDING;
  }

  /** True once it holds a value (not an error). */
  successful(): boolean {
    return this.#state === VALUE;
  }

  /** The value given to `set()`, or undefined. */
  get value(): T | undefined {
    return this.#value;
  }

  /** The error given to `setException()`, or undefined. */
  get exception(): unknown {
    return this.#exception;
  }

  /** Store `value` and wake every waiter and link. Never switches. */
  set(value: T): void {
    this.#state = VALUE;
    this.#value = value;
    this.#exception = undefined;
    this.#waiters.drain(AsyncResult.#wake, this as AsyncResult<unknown>);
  }

  /**
   * Store `error` (any value, as `throw` allows) and wake every waiter and link:
   * `get()` rejects with it, `wait()` resolves undefined. Never switches.
   */
  setException(error: unknown): void {
    this.#state = FAILED;
    this.#value = undefined;
    this.#exception = error;
    this.#waiters.drain(AsyncResult.#wake, this as AsyncResult<unknown>);
  }

  /**
   * The value, or throw the stored error. Blocks until it is ready; with `timeout`,
   * throws a `TimeoutError` after that many ms; with `block: false`, throws a
   * `TimeoutError` at once when not ready. An outer `Timeout` or a kill passes through.
   */
  get(options?: GetOptions): Promise<T> {
    const o = checkOptions('options', options);
    const block = checkBoolean('block', o.block, true);
    const ms = checkTimeout('timeout', o.timeout);
    if (this.#state === VALUE) return Promise.resolve(this.#value as T);
    if (this.#state === FAILED) return Promise.reject(this.#exception);
    if (!block) return Promise.reject(new TimeoutError(undefined, 'the AsyncResult is not ready'));
    return hub.wait<T>(K_GET, this.#waitTarget(), AR_GET as OpHandler<T>, this.#waiters, ms);
  }

  /**
   * Wait until it is ready, and resolve to the value: `undefined` if it holds an error
   * or `timeout` ms pass first (gevent's `wait`, which never throws the stored error).
   */
  wait(timeout?: number): Promise<T | undefined> {
    const ms = checkTimeout('timeout', timeout);
    if (this.#state !== PENDING) return Promise.resolve(this.#value);
    return hub.wait<T | undefined>(K_WAIT, this.#waitTarget(), AR_WAIT as OpHandler<T | undefined>, this.#waiters, ms);
  }

  #waitTarget(): WaitTarget {
    return (this.#detail ??= waitDetail(this, nameOf(this), this.#waiters));
  }

  /**
   * Call `callback(result)` once it is ready: asynchronously, in registration order
   * (with the waiters), even if it is ready already. One that throws is reported on
   * stderr and does not stop the others.
   */
  link(callback: (result: this) => unknown): void {
    checkFunction('callback', callback);
    if (this.#state !== PENDING) this.#link(callback as LinkFn);
    else this.#waiters.push(callback as LinkFn);
  }

  /** Remove every link of `callback` not run yet (also while the links run, as in gevent). */
  unlink(callback: (result: this) => unknown): void {
    this.#waiters.removeItem(callback as LinkFn, true);
    this.#links?.remove(callback as ResultLink);
  }

  #link(cb: LinkFn): void {
    (this.#links ??= new LinkRunner<AsyncResult<unknown>>(this as AsyncResult<unknown>)).add(cb as ResultLink);
  }

  // The waiters' wake-up at set(): links join the links' pass, the rest wake at once.
  static #wake(item: Parked, r: AsyncResult<unknown>): void {
    if (typeof item === 'function') r.#link(item);
    else wakeResultWaiter(item as AnyOp | Watcher, r);
  }

  /** `<AsyncResult pending, 2 waiting>`, `<AsyncResult value>`, `<AsyncResult exception>`. */
  toString(): string {
    const st = this.#state === PENDING ? 'pending' : this.#state === VALUE ? 'value' : 'exception';
    const n = nameOf(this);
    return `<AsyncResult${n === undefined ? '' : ` '${n}'`} ${st}${this.#waiters.describe()}>`;
  }

  /** @internal For run-info: what a waiting greenlet waits on. */
  describe(): string {
    return this.toString();
  }

  /** @internal */
  [kAddWatcher](w: Watcher): void {
    if (this.#state !== PENDING) w.onReady(this);
    else this.#waiters.push(w);
  }

  /** @internal */
  [kRemoveWatcher](w: Watcher): void {
    this.#waiters.removeItem(w, false);
  }
}

type ResultLink = (r: AsyncResult<unknown>) => unknown;

function wakeResultWaiter(item: AnyOp | Watcher, r: AsyncResult<unknown>): void {
  if (item instanceof Op) {
    if (r.successful()) item.resolve(r.value);
    else if (item.handler === AR_GET) item.reject(r.exception);
    else item.resolve(undefined);
  } else {
    item.onReady(r);
  }
}
