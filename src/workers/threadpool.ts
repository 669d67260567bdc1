/**
 * `ThreadPool`: CPU-bound work on worker threads (`node:worker_threads`), off the hub. A
 * task is a module export or a self-contained function; arguments and results are
 * structured-cloned (or moved, with `transfer()`). Killing the greenlet awaiting a result
 * terminates the task's thread. Limits: a function task cannot close over variables (its
 * source is sent), and a running task can be stopped only by terminating its thread.
 */
import type { Worker as WorkerType } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { checkOptions } from '../internal/validate.js';
import { PoolSurface, type ClosePoolOptions } from './pool-surface.js';
import { entryScript, markTransfer, tsx, type TaskFile, type Transferable } from './task-codec.js';
import { TaskPool, type TaskPoolOptions } from './task-pool.js';
import type { Backend, Slot, WorkerHandle } from './worker-slot.js';

export type { TaskFile, ClosePoolOptions };
export { WorkerExitError } from '../errors.js';

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
      // execArgv is not honoured), then loads the .ts entry. For the same reason the
      // worker imports the application's own `--import`s (a loader such as tsx, for
      // .ts task modules) before the entry.
      const preloads = ts ? [] : workerPreloads();
      const w = ts
        ? new Worker(`import(${JSON.stringify(tsx().api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`, { eval: true, workerData, resourceLimits })
        : preloads.length > 0
          ? new Worker(`(async () => { ${preloads.join(' ')} await import(${JSON.stringify(url.href)}); })();`, { eval: true, workerData, resourceLimits })
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

// Statements a worker runs before its entry (one per `--import` of the process).
let preloadUrls: string[] | undefined;
/**
 * Worker threads do not get the loader hooks the process's `--import` modules register
 * (tsx, for .ts task modules): list those modules, for each worker to import first.
 */
function workerPreloads(): string[] {
  if (preloadUrls !== undefined) return preloadUrls;
  preloadUrls = [];
  const base = pathToFileURL(`${process.cwd()}/`);
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const spec = a === '--import' ? argv[++i] : a.startsWith('--import=') ? a.slice(9) : undefined;
    if (spec === undefined || /greenio\/patch|[/\\]patch\.[jt]s$/.test(spec)) continue; // greenio's own preload is not for workers
    try {
      const href = /^[./]/.test(spec) ? new URL(spec, base).href : pathToFileURL(createRequire(base).resolve(spec)).href;
      // tsx's --import entry does nothing off the main thread: use its register() API.
      const isTsx = /[/\\]node_modules[/\\]tsx[/\\]/.test(href);
      preloadUrls.push(isTsx ? `(await import(${JSON.stringify(tsx().api)})).register();` : `await import(${JSON.stringify(href)});`);
    } catch {
      // unresolvable here: the worker would fail the same way; leave it out
    }
  }
  return preloadUrls;
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
