/**
 * The Queue's variants (gevent.queue, Python's queue): `JoinableQueue` (counts unfinished
 * tasks, `join()` waits for none), `LifoQueue` and `PriorityQueue` (joinable, other
 * stores) and `SimpleQueue` (unbounded, put and get only). Each keeps `Queue`'s waits
 * (queue.ts). Limit: a `PriorityQueue` without `compare` orders only what Python can.
 */
import * as hub from './hub/index.js';
import type { OpHandler } from './hub/index.js';
import { GreenioError } from './errors.js';
import { Stack, type Store } from './internal/deque.js';
import { Heap, pythonCompare } from './internal/pyorder.js';
import { checkFunction, checkOptions, checkTimeout } from './internal/validate.js';
import { WaitList, type QueueWaitOptions } from './hub/index.js';
import { Queue, type PriorityCompare, type QueueJoinOptions, type QueueOptions } from './queue.js';

const K_JOIN = hub.kind('queue.join');
const RESOLVED_TRUE: Promise<boolean> = Promise.resolve(true);

const JOIN_WAIT: OpHandler<boolean> = {
  start(op) {
    (op.data as WaitList).add(op);
  },
  cancel(op) {
    (op.data as WaitList).drop();
  },
  timeout(op) {
    op.resolve(false);
    (op.data as WaitList).drop();
  },
};

/**
 * A `Queue` that counts unfinished tasks: each item put is one, `taskDone()` marks one
 * finished, and `join()` waits until none is left.
 * @example
 * import { JoinableQueue, spawn } from 'greenio';
 * const q = new JoinableQueue<string>();
 * spawn(async () => {
 *   for await (const url of q) {
 *     console.log('fetched', url);
 *     q.taskDone();
 *   }
 * });
 * await q.put('https://example.com/');
 * await q.join(); // every item put has been marked done
 * q.shutdown(); // ends the consumer's loop
 */
export class JoinableQueue<T> extends Queue<T> {
  /** Items put and not yet marked done with `taskDone()`. */
  get unfinishedTasks(): number {
    return this._tasks;
  }

  /**
   * Mark one task finished (call it once per item got, when done with it); wakes
   * `join()` when none is left. Throws a `GreenioError` with code
   * `'GREENIO_TASK_DONE_TOO_MANY'` when called more times than items were put.
   */
  taskDone(): void {
    if (this._tasks <= 0) {
      throw new GreenioError('taskDone() called more times than there were items put', 'GREENIO_TASK_DONE_TOO_MANY');
    }
    if (--this._tasks === 0) this._wakeJoiners();
  }

  /** Wait until every item put has been marked done: true then, false at `timeout`. */
  join(options?: QueueJoinOptions): Promise<boolean> {
    const ms = checkTimeout('timeout', checkOptions('options', options).timeout);
    if (this._tasks === 0) return RESOLVED_TRUE;
    return hub.wait<boolean>(K_JOIN, this._waitTarget(), JOIN_WAIT, (this._joiners ??= new WaitList()), ms);
  }
}

/**
 * A queue that gives back the most recently put item first (a stack). Joinable.
 * @example
 * import { LifoQueue } from 'greenio';
 * const q = new LifoQueue<number>();
 * q.putNowait(1);
 * q.putNowait(2);
 * console.log(q.getNowait(), q.getNowait()); // 2 1
 */
export class LifoQueue<T> extends JoinableQueue<T> {
  /** @internal */
  override _createStore(): Store<T> {
    return new Stack<T>();
  }
}

/**
 * A queue that gives back the smallest item first. Without `compare`, items are ordered
 * as Python orders them: numbers, bigints, strings, and arrays of them element by element
 * (`[priority, item]` tuples); two items that cannot be ordered (a number and a string,
 * two different objects) make the call that compares them throw a `TypeError`. Items that
 * compare equal come out in the order they were put (a stable heap). Joinable.
 * @example
 * import { PriorityQueue } from 'greenio';
 * const q = new PriorityQueue<[number, string]>();
 * q.putNowait([2, 'write']);
 * q.putNowait([1, 'read']);
 * console.log(q.getNowait()); // [1, 'read']
 * const byLength = new PriorityQueue<string>(0, (a, b) => a.length - b.length);
 * byLength.putNowait('three');
 * byLength.putNowait('one');
 * console.log(byLength.getNowait()); // 'one'
 */
export class PriorityQueue<T> extends JoinableQueue<T> {
  constructor(maxsize: number = 0, compare?: PriorityCompare<T>, options?: QueueOptions) {
    super(maxsize, options);
    if (compare !== undefined) {
      checkFunction('compare', compare);
      (this._store as Heap<T>).compare = compare;
    }
  }

  /** @internal */
  override _createStore(): Store<T> {
    return new Heap<T>(pythonCompare);
  }
}

// The queue behind a SimpleQueue; named so in run-info.
class SimpleQueueCore<T> extends Queue<T> {
  override describe(): string {
    return `SimpleQueue size=${this._store.length} getters=${this._getters.live}`;
  }
}

/**
 * Python's `SimpleQueue`: an unbounded FIFO queue with only put and get (no size limit,
 * peek, task counting or shutdown). `put` never waits.
 * @example
 * import { SimpleQueue } from 'greenio';
 * const q = new SimpleQueue<string>();
 * await q.put('a');
 * console.log(await q.get(), q.empty()); // 'a' true
 */
export class SimpleQueue<T> {
  readonly #q = new SimpleQueueCore<T>();

  /** Put `item` (never waits; `options` are checked and accepted for compatibility). */
  put(item: T, options?: QueueWaitOptions): Promise<void> {
    return this.#q.put(item, options);
  }
  /** Put `item` (never throws `QueueFull`: it is unbounded). */
  putNowait(item: T): void {
    this.#q.putNowait(item);
  }
  /** Remove and return the next item, waiting while empty (see `Queue.get`). */
  get(options?: QueueWaitOptions): Promise<T> {
    return this.#q.get(options);
  }
  /** Remove and return the next item; throws `QueueEmpty` if there is none. */
  getNowait(): T {
    return this.#q.getNowait();
  }
  /** Number of items. */
  qsize(): number {
    return this.#q.qsize();
  }
  /** True when it holds no item. */
  empty(): boolean {
    return this.#q.empty();
  }
  /** @internal */
  get _waiterCount(): number {
    return this.#q._waiterCount;
  }
}
