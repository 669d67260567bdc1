/**
 * `ThreadPool`: CPU-bound work on worker threads (`node:worker_threads`), off the hub. A
 * task is a module export or a self-contained function; arguments and results are
 * structured-cloned (or moved, with `transfer()`). Killing the greenlet awaiting a result
 * terminates the task's thread. Limits: a function task cannot close over variables (its
 * source is sent), and a running task can be stopped only by terminating its thread.
 */
import type { Worker as WorkerType } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { Future } from './future.js';
import { checkOptions, checkTimeout } from './internal/validate.js';
import { entryScript, markTransfer, tsx, type Backend, type Slot, type TaskFile, type TaskPoolOptions, type Transferable, type WorkerHandle } from './internal/task-codec.js';
import { TaskPool } from './internal/task-pool.js';

export type { TaskFile };
export { WorkerExitError } from './errors.js';

/** Options of `new ThreadPool()`. */
export interface ThreadPoolOptions extends TaskPoolOptions {
  /** Passed to each `Worker` (heap limits). */
  resourceLimits?: WorkerType['resourceLimits'];
}

/** Options of `close()`. */
export interface ClosePoolOptions {
  /**
   * Stop waiting after this many ms: tasks still queued are cancelled and running ones
   * are terminated (their futures fail with `CancelledError`). Default: wait for all.
   */
  timeout?: number;
}

function threadBackend(resourceLimits: ThreadPoolOptions['resourceLimits']): Backend {
  return {
    name: 'ThreadPool',
    threads: true,
    start(slot: Slot): WorkerHandle {
      const { Worker } = process.getBuiltinModule('node:worker_threads');
      const { url, ts } = entryScript('thread-entry');
      const workerData = { ring: slot.ring!.buffer };
      // From sources, the worker registers tsx itself (an `--import` in a worker's
      // execArgv is not honoured on Node 20), then loads the .ts entry.
      const w = ts
        ? new Worker(`import(${JSON.stringify(tsx().api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`, { eval: true, workerData, resourceLimits })
        : new Worker(url, { workerData, resourceLimits });
      const pool = slot.pool;
      w.on('message', (m: unknown) => pool.onReply(slot, m));
      w.on('error', (e: unknown) => {
        slot.crash = e;
      });
      w.on('exit', (code: number) => pool.onExit(slot, code, null));
      return {
        id: w.threadId,
        send: (m, t) => w.postMessage(m, t),
        kill: () => void w.terminate(),
        stop: () => void w.terminate(),
        ref: () => w.ref(),
        unref: () => w.unref(),
      };
    },
  };
}

/**
 * A pool of worker threads for CPU-bound work. `submit` returns a `Future`, `apply`
 * a promise of the result, `map` the results in input order. Workers start on demand up
 * to `size`, exit after `idleTimeout` ms idle, and never keep the process alive while
 * idle. A worker that dies mid-task fails only that task and is replaced.
 * @example
 * import { ThreadPool } from 'greenio';
 * const pool = new ThreadPool({ size: 4 });
 * const fib = (n: number): number => { let a = 0, b = 1; while (n-- > 0) [a, b] = [b, a + b]; return a; };
 * console.log(await pool.apply(fib, [30])); // 832040
 * console.log(await pool.map(fib, [1, 2, 3, 4])); // [1, 1, 2, 3]
 * await pool.close();
 */
export class ThreadPool {
  readonly #pool: TaskPool;

  constructor(options?: ThreadPoolOptions) {
    const o = checkOptions('options', options) as ThreadPoolOptions;
    this.#pool = new TaskPool(threadBackend(o.resourceLimits), o, availableParallelism);
  }

  /**
   * Mark `value` to be moved to (or, returned by a task, from) the worker instead of
   * copied: an `ArrayBuffer`, a typed array or `Buffer` (its whole buffer moves), a
   * `MessagePort`, or any value with an explicit `transferList`. The sender loses it.
   * Only direct arguments (and a task's return value) are looked at.
   */
  static transfer<T>(value: T, transferList?: readonly Transferable[]): T {
    return markTransfer(value, transferList);
  }

  /** The most worker threads at once. */
  get size(): number {
    return this.#pool.size;
  }

  /** Worker threads alive now (they start on demand and exit when idle). */
  get workers(): number {
    return this.#pool.workers;
  }

  /** Tasks waiting for a thread. */
  get queued(): number {
    return this.#pool.queued;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#pool.closed;
  }

  /**
   * Run `task(...args)` on a worker thread; returns its `Future` at once (never waits).
   * Throws synchronously `TypeError` for a bad task or an argument that cannot be
   * cloned, `PoolClosedError` after `close()`, `QueueFull` when `maxQueue` tasks wait.
   */
  submit<A extends unknown[], R>(task: (...args: A) => R, ...args: A): Future<Awaited<R>>;
  submit<R = unknown>(task: TaskFile, ...args: unknown[]): Future<R>;
  submit(task: TaskFile | ((...args: never[]) => unknown), ...args: unknown[]): Future {
    return this.#pool.submit(task, args);
  }

  /**
   * Run `task(...args)` and resolve to its result (reject with its error). Unlike
   * `submit`, a full queue makes it wait for room (a hub wait). Killing the awaiting
   * greenlet cancels the task, terminating its thread if it runs.
   */
  apply<A extends unknown[], R>(task: (...args: A) => R, args?: A): Promise<Awaited<R>>;
  apply<R = unknown>(task: TaskFile, args?: readonly unknown[]): Promise<R>;
  apply(task: TaskFile | ((...args: never[]) => unknown), args?: readonly unknown[]): Promise<unknown> {
    return this.#pool.apply(task, args);
  }

  /**
   * Run `task(item)` for each item of `iterable` (sync or async, read as the queue
   * has room) and resolve to the results in input order. On the first error, tasks not
   * started are cancelled and the error is thrown; if the awaiting greenlet is killed,
   * running ones are terminated too.
   */
  map<I, R>(task: (item: I) => R, iterable: Iterable<I> | AsyncIterable<I>): Promise<Awaited<R>[]>;
  map<R = unknown>(task: TaskFile, iterable: Iterable<unknown> | AsyncIterable<unknown>): Promise<R[]>;
  map(task: TaskFile | ((item: never) => unknown), iterable: Iterable<unknown> | AsyncIterable<unknown>): Promise<unknown[]> {
    return this.#pool.map(task, iterable);
  }

  /**
   * Refuse new tasks (`PoolClosedError`), wait for queued and running ones, then stop
   * every thread; resolves once none is left. A hub wait (kind `threadpool.close`).
   */
  close(options?: ClosePoolOptions): Promise<void> {
    const o = checkOptions('options', options);
    return this.#pool.close(checkTimeout('timeout', o.timeout));
  }

  toString(): string {
    return `<ThreadPool size=${this.size} workers=${this.workers} queued=${this.queued}${this.closed ? ' closed' : ''}>`;
  }
}
