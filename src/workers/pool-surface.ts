/**
 * The surface `ThreadPool` and `ProcessPool` share (`submit`, `apply`, `map`, `close`
 * and the counters), over the worker-pool machinery of `task-pool.ts`; each pool only
 * says how its workers start. Limits: those of the pool's workers (see each class).
 */
import type { Future } from './future.js';
import { checkOptions, checkTimeout } from '../internal/validate.js';
import type { TaskFile } from './task-codec.js';
import type { TaskPool } from './task-pool.js';

/** Options of `close()`. */
export interface ClosePoolOptions {
  /**
   * Stop waiting after this many ms: tasks still queued are cancelled and running ones
   * are stopped (their futures fail with `CancelledError`). Default: wait for all.
   */
  timeout?: number;
}

/** What a thread pool and a process pool both offer. */
export abstract class PoolSurface {
  /** @internal */
  protected readonly _pool: TaskPool;

  /** @internal */
  protected constructor(pool: TaskPool) {
    this._pool = pool;
  }

  /** The most workers (threads or children) at once. */
  get size(): number {
    return this._pool.size;
  }

  /** Workers alive now (they start on demand and exit when idle). */
  get workers(): number {
    return this._pool.workers;
  }

  /** Tasks waiting for a worker. */
  get queued(): number {
    return this._pool.queued;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this._pool.closed;
  }

  /**
   * Run `task(...args)` on a worker; returns its `Future` at once (never waits).
   * Throws synchronously `TypeError` for a bad task or an argument that cannot be
   * cloned, `PoolClosedError` after `close()`, `QueueFull` when `maxQueue` tasks wait.
   */
  submit<A extends unknown[], R>(task: (...args: A) => R, ...args: A): Future<Awaited<R>>;
  submit<R = unknown>(task: TaskFile, ...args: unknown[]): Future<R>;
  submit(task: TaskFile | ((...args: never[]) => unknown), ...args: unknown[]): Future {
    return this._pool.submit(task, args);
  }

  /**
   * Run `task(...args)` and resolve to its result (reject with its error). Unlike
   * `submit`, a full queue makes it wait for room (a hub wait). Killing the awaiting
   * greenlet cancels the task, stopping its worker if it runs (the worker is replaced).
   */
  apply<A extends unknown[], R>(task: (...args: A) => R, args?: A): Promise<Awaited<R>>;
  apply<R = unknown>(task: TaskFile, args?: readonly unknown[]): Promise<R>;
  apply(task: TaskFile | ((...args: never[]) => unknown), args?: readonly unknown[]): Promise<unknown> {
    return this._pool.apply(task, args);
  }

  /**
   * Run `task(item)` for each item of `iterable` (sync or async, read as the queue
   * has room) and resolve to the results in input order. On the first error, tasks not
   * started are cancelled and the error is thrown; if the awaiting greenlet is killed,
   * running ones are stopped too.
   */
  map<I, R>(task: (item: I) => R, iterable: Iterable<I> | AsyncIterable<I>): Promise<Awaited<R>[]>;
  map<R = unknown>(task: TaskFile, iterable: Iterable<unknown> | AsyncIterable<unknown>): Promise<R[]>;
  map(task: TaskFile | ((item: never) => unknown), iterable: Iterable<unknown> | AsyncIterable<unknown>): Promise<unknown[]> {
    return this._pool.map(task, iterable);
  }

  /**
   * Refuse new tasks (`PoolClosedError`), wait for queued and running ones, then stop
   * every worker; resolves once none is left. A hub wait.
   */
  close(options?: ClosePoolOptions): Promise<void> {
    const o = checkOptions('options', options);
    return this._pool.close(checkTimeout('timeout', o.timeout));
  }

  toString(): string {
    return `<${this.constructor.name} size=${this.size} workers=${this.workers} queued=${this.queued}${this.closed ? ' closed' : ''}>`;
  }
}
