/**
 * `Queue` (gevent.queue, Python's queue), FIFO, and what its variants (queue-family.ts:
 * `JoinableQueue`, `LifoQueue`, `PriorityQueue`, `SimpleQueue`) share: a blocked get or
 * put is one wait at the hub's switch point, and a killed or timed-out waiter leaves the
 * queue as if it had never waited: `put()` hands its item to a waiting getter at once,
 * and a waiting putter's item enters only when its wait completes. Limit: an item that is a thenable
 * (a Promise) is adopted by the promise `get()` returns; wrap it to pass it through.
 */
import * as hub from './hub/index.js';
import type { OpHandler } from './hub/index.js';
import { QueueEmpty, QueueFull, QueueShutDown } from './errors.js';
import { Deque, type Store } from './internal/deque.js';
import { checkBoolean, checkOptions, expected } from './internal/validate.js';
import { nameFromOptions, nameOf } from './instrument/resources.js';
import { waitDetail, type WaitTarget } from './instrument/leaks.js';
import { GET_WAIT, NO_BLOCK, PEEK_WAIT, PUT_WAIT, WaitList, handOver, iterateUntilShutDown, parseWait, type QueueWaitOptions } from './hub/index.js';

export type { QueueWaitOptions };

/** How a `PriorityQueue` orders items: negative when `a` comes first (as for `Array#sort`). */
export type PriorityCompare<T> = (a: T, b: T) => number;

const K_GET = hub.kind('queue.get');
const K_PUT = hub.kind('queue.put');
const K_PEEK = hub.kind('queue.peek');
const RESOLVED: Promise<void> = Promise.resolve();

/** Options of a queue's constructor. */
export interface QueueOptions {
  /** A name for run-info and `greenio ps`/`top` (named queues are always listed). */
  name?: string;
}

/** Options of `shutdown()`. */
export interface QueueShutdownOptions {
  /** Drop the items left too, so gets fail at once (Python's `immediate=True`). */
  immediate?: boolean;
}

/** Options of `JoinableQueue.join()`. */
export interface QueueJoinOptions {
  /** Give up after this many ms: `join()` then resolves to false. */
  timeout?: number;
}

function checkMaxsize(value: unknown): number {
  const what = 'an integer >= 0 (0: unbounded)';
  if (typeof value !== 'number') throw new TypeError(expected('maxsize', what, value));
  if (!Number.isInteger(value) || value < 0) throw new RangeError(expected('maxsize', what, value));
  return value;
}

/**
 * A FIFO queue of at most `maxsize` items (0, the default: unbounded). `put` waits while
 * it is full, `get` while it is empty; waiters are served in the order they came.
 * @example
 * import { Queue, spawn } from 'greenio';
 * const q = new Queue<number>(1);
 * const consumer = spawn(async () => [await q.get(), await q.get()]);
 * await q.put(1);
 * await q.put(2); // waits while the queue is full
 * console.log(await consumer.get()); // [1, 2]
 */
export class Queue<T> implements AsyncIterable<T> {
  /** @internal */ _store: Store<T>;
  /** @internal Blocked getters and peekers, in arrival order. */ readonly _getters = new WaitList();
  /** @internal Blocked putters; each op's `data` is its item. */ readonly _putters = new WaitList();
  /** @internal Blocked `join()` calls (JoinableQueue). */ _joiners: WaitList | null = null;
  // What its waits name, made at the first one: a WaitTarget holding it weakly (leak reports).
  #target: WaitTarget | null = null;
  /** @internal Items put and not yet marked done (JoinableQueue's unfinishedTasks). */ _tasks = 0;
  /** @internal */ _shut = false;
  /** @internal 0: unbounded. */ readonly _max: number;

  constructor(maxsize: number = 0, options?: QueueOptions) {
    this._max = checkMaxsize(maxsize);
    this._store = this._createStore();
    nameFromOptions(this, options);
  }

  /** The name given to the constructor, if any. */
  get name(): string | undefined {
    return nameOf(this);
  }

  /** @internal The store of this kind of queue. */
  _createStore(): Store<T> {
    return new Deque<T>();
  }

  /** The capacity given to the constructor (0: unbounded). */
  get maxsize(): number {
    return this._max;
  }

  /** Number of items in the queue. */
  qsize(): number {
    return this._store.length;
  }

  /** True when it holds no item. */
  empty(): boolean {
    return this._store.length === 0;
  }

  /** True when it holds `maxsize` items (never for an unbounded queue). */
  full(): boolean {
    return this._max > 0 && this._store.length >= this._max;
  }

  /**
   * Put `item`, waiting while the queue is full (up to `timeout` ms, then `QueueFull`).
   * With `block: false`, rejects with `QueueFull` at once if full. Rejects with
   * `QueueShutDown` after `shutdown()`. Never switches when there is room.
   */
  put(item: T, options?: QueueWaitOptions): Promise<void> {
    const ms = options === undefined ? undefined : parseWait(options);
    if (this._shut) return Promise.reject(new QueueShutDown());
    if (this._getters.live > 0 && this._handOff(item)) return RESOLVED;
    if (this._max === 0 || this._store.length < this._max) {
      this._store.push(item);
      this._tasks++;
      return RESOLVED;
    }
    if (ms === NO_BLOCK) return Promise.reject(new QueueFull());
    return hub.wait<void>(K_PUT, this._waitTarget(), PUT_WAIT, item, ms);
  }

  /** Put `item` if there is room now; throws `QueueFull` (or `QueueShutDown`) otherwise. */
  putNowait(item: T): void {
    if (this._shut) throw new QueueShutDown();
    if (this._getters.live > 0 && this._handOff(item)) return;
    if (this._max !== 0 && this._store.length >= this._max) throw new QueueFull();
    this._store.push(item);
    this._tasks++;
  }

  /**
   * Remove and return the next item, waiting while the queue is empty (up to `timeout`
   * ms, then `QueueEmpty`). With `block: false`, rejects with `QueueEmpty` at once if
   * empty. After `shutdown()`, still returns the items left, then rejects with
   * `QueueShutDown`.
   */
  get(options?: QueueWaitOptions): Promise<T> {
    const ms = options === undefined ? undefined : parseWait(options);
    if (this._store.length > 0) return Promise.resolve(this._take());
    if (this._shut) return Promise.reject(new QueueShutDown());
    if (ms === NO_BLOCK) return Promise.reject(new QueueEmpty());
    return hub.wait<T>(K_GET, this._waitTarget(), GET_WAIT as OpHandler<T>, undefined, ms);
  }

  /** Remove and return the next item if there is one; throws `QueueEmpty` (or `QueueShutDown`). */
  getNowait(): T {
    if (this._store.length > 0) return this._take();
    throw this._shut ? new QueueShutDown() : new QueueEmpty();
  }

  /** Like `get()`, but leaves the item in the queue. */
  peek(options?: QueueWaitOptions): Promise<T> {
    const ms = options === undefined ? undefined : parseWait(options);
    if (this._store.length > 0) return Promise.resolve(this._store.top());
    if (this._shut) return Promise.reject(new QueueShutDown());
    if (ms === NO_BLOCK) return Promise.reject(new QueueEmpty());
    return hub.wait<T>(K_PEEK, this._waitTarget(), PEEK_WAIT as OpHandler<T>, undefined, ms);
  }

  /** The next item, left in place; throws `QueueEmpty` (or `QueueShutDown`) if there is none. */
  peekNowait(): T {
    if (this._store.length > 0) return this._store.top();
    throw this._shut ? new QueueShutDown() : new QueueEmpty();
  }

  /**
   * Shut the queue down (Python 3.13): puts reject with `QueueShutDown` from now on,
   * gets return the items left and then reject with it; blocked getters and putters are
   * woken with it (a blocked putter's item is not put). With `immediate`, the items left
   * are dropped too (and counted done, for `JoinableQueue.join()`). Idempotent.
   */
  shutdown(options?: QueueShutdownOptions): void {
    const immediate = checkBoolean('immediate', checkOptions('options', options).immediate, false);
    this._shut = true;
    if (immediate && this._store.length > 0) {
      this._tasks = Math.max(0, this._tasks - this._store.length);
      this._store.clear();
      if (this._tasks === 0) this._wakeJoiners();
    }
    for (const op of this._getters.clear()) op.reject(new QueueShutDown());
    for (const op of this._putters.clear()) op.reject(new QueueShutDown());
  }

  /** True once `shutdown()` was called. */
  get isShutdown(): boolean {
    return this._shut;
  }

  /**
   * Iterate with `get()` until the queue is shut down and empty; then the loop ends
   * cleanly. Breaking out of the loop leaves nothing waiting on the queue.
   */
  [Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    return iterateUntilShutDown(() => (this._store.length > 0 ? this._take() : this.get()), () => this._shut);
  }

  /** `<Queue maxsize=1 size=1 getters=0 putters=2>`, for logs. */
  toString(): string {
    return `<${this.describe()}>`;
  }

  /** @internal What run-info shows for a wait on this queue. */
  describe(): string {
    const waiting = `getters=${this._getters.live} putters=${this._putters.live}`;
    const n = nameOf(this);
    return `${this.constructor.name}${n === undefined ? '' : ` '${n}'`} ${this._max > 0 ? `maxsize=${this._max} ` : ''}size=${this._store.length} ${waiting}`;
  }

  /** @internal The detail of its waits (made at the first one). */
  _waitTarget(): WaitTarget {
    return (this.#target ??= waitDetail(this, nameOf(this), null, this));
  }

  /** @internal Blocked getters, peekers, putters and joiners (for tests). */
  get _waiterCount(): number {
    return this._getters.live + this._putters.live + (this._joiners?.live ?? 0);
  }

  /** @internal Give `item` to the first blocked getter (peekers before it see it too). */
  _handOff(item: T): boolean {
    const w = this._getters;
    for (let op = w.take(); op !== undefined; op = w.take()) {
      const peeks = op.handler === PEEK_WAIT;
      handOver(op, item);
      if (!peeks) {
        this._tasks++;
        return true;
      }
    }
    return false;
  }

  /** @internal Take the next item; a slot is free then, so let the first blocked putter in. */
  _take(): T {
    const item = this._store.take();
    if (this._putters.live > 0) this._admit();
    return item;
  }

  /** @internal Move blocked putters' items in while there is room. */
  _admit(): void {
    const p = this._putters;
    while (p.live > 0 && (this._max === 0 || this._store.length < this._max)) {
      const op = p.take()!;
      try {
        this._store.push(op.data as T);
      } catch (e) {
        op.reject(e); // a PriorityQueue item that cannot be ordered: its putter gets the TypeError
        continue;
      }
      this._tasks++;
      handOver(op, undefined);
    }
  }

  /** @internal */
  _wakeJoiners(): void {
    const j = this._joiners;
    if (j !== null) for (let op = j.take(); op !== undefined; op = j.take()) handOver(op, true);
  }
}
