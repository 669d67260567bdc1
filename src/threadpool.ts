/**
 * `ThreadPool`: CPU-bound work on worker threads (`node:worker_threads`), off the hub. A
 * task is a module export or a self-contained function; arguments and results are
 * structured-cloned (or moved, with `transfer()`). Killing the greenlet awaiting a result
 * terminates the task's thread. Limits: a function task cannot close over variables (its
 * source is sent), and a running task can be stopped only by terminating its thread.
 */
import type { Worker as WorkerType } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { checkOptions } from './internal/validate.js';
import { PoolSurface, type ClosePoolOptions } from './internal/pool-surface.js';
import { entryScript, markTransfer, tsx, type Backend, type Slot, type TaskFile, type TaskPoolOptions, type Transferable, type WorkerHandle } from './internal/task-codec.js';
import { TaskPool } from './internal/task-pool.js';

export type { TaskFile, ClosePoolOptions };
export { WorkerExitError } from './errors.js';

/** Options of `new ThreadPool()`. */
export interface ThreadPoolOptions extends TaskPoolOptions {
  /** Passed to each `Worker` (heap limits). */
  resourceLimits?: WorkerType['resourceLimits'];
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
export class ThreadPool extends PoolSurface {
  constructor(options?: ThreadPoolOptions) {
    const o = checkOptions('options', options) as ThreadPoolOptions;
    super(new TaskPool(threadBackend(o.resourceLimits), o, availableParallelism));
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
}
