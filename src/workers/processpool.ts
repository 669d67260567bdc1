/**
 * `ProcessPool`: the `ThreadPool` surface over child processes (`child_process.fork`),
 * for work that needs its own heap, its own event loop, or isolation from crashes.
 * Arguments and results use fork's `serialization: 'advanced'` (the structured-clone
 * algorithm, through v8.serialize). Limits: nothing is transferred, only copied, and each
 * child runs one task at a time, so a task costs an IPC round trip (tens of µs).
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { originalClearTimeout, originalSetTimeout } from '../internal/originals.js';
import { checkOptions, expected } from '../internal/validate.js';
import { PoolSurface } from './pool-surface.js';
import { entryScript, tsx } from './task-codec.js';
import { TaskPool, type TaskPoolOptions } from './task-pool.js';
import type { Backend, Slot, WorkerHandle } from './worker-slot.js';

/** Options of `new ProcessPool()`. */
export interface ProcessPoolOptions extends TaskPoolOptions {
  /** Environment of the children (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Node options of the children (default: the parent's `process.execArgv`). */
  execArgv?: string[];
}

// A child asked to stop (idle, pool closed) that does not exit by then is killed.
const STOP_GRACE_MS = 5000;

function processBackend(o: ProcessPoolOptions): Backend {
  return {
    name: 'ProcessPool',
    threads: false,
    start(slot: Slot): WorkerHandle {
      const { fork } = process.getBuiltinModule('node:child_process');
      const { url, ts } = entryScript('process-entry');
      // From sources, the child loads tsx first to run the .ts entry (and .ts tasks).
      const execArgv = ts ? [...(o.execArgv ?? []), '--import', tsx().loader] : o.execArgv;
      const child = fork(fileURLToPath(url), [], { serialization: 'advanced', env: o.env, execArgv, stdio: 'inherit' });
      const pool = slot.pool;
      let stopTimer: ReturnType<typeof setTimeout> | null = null;
      child.on('message', (m: unknown) => pool.onReply(slot, m));
      child.on('error', (e: Error) => {
        // A failed spawn emits no 'close'; a failed send is followed by the child's end.
        slot.crash ??= e;
        if (child.pid === undefined) pool.onExit(slot, null, null);
      });
      // The end is its exit *and* the end of its IPC channel, which delivers every message
      // the child sent before it died (its last result, its crash report) first.
      let exited: [number | null, NodeJS.Signals | null] | null = null;
      const end = (): void => {
        if (exited === null || (child.connected && !lateTimer)) return;
        if (stopTimer !== null) originalClearTimeout(stopTimer);
        pool.onExit(slot, exited[0], exited[1]);
      };
      let lateTimer = false;
      child.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
        exited = [code, signal];
        end();
        // A channel that outlives its process (a grandchild holds it) must not hold the pool.
        if (child.connected) originalSetTimeout(() => ((lateTimer = true), end()), 1000).unref();
      });
      child.on('disconnect', end);
      return {
        id: child.pid ?? -1,
        send: (m) => void child.send(m as never),
        kill: () => void child.kill('SIGKILL'),
        stop() {
          // The child exits when its channel closes (process-entry.ts).
          if (child.connected) child.disconnect();
          stopTimer = originalSetTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
          stopTimer.unref();
        },
        ref() {
          child.ref();
          child.channel?.ref();
        },
        unref() {
          child.unref();
          child.channel?.unref();
        },
      };
    },
  };
}

/**
 * A pool of child processes with the `ThreadPool` surface: `submit` returns a `Future`,
 * `apply` a promise of the result, `map` the results in input order. Children are forked
 * on demand up to `size`, exit after `idleTimeout` ms idle (or when the parent goes), and
 * never keep the parent alive while idle. A child that dies mid-task (exit, signal,
 * uncaught exception) fails only that task and is replaced.
 * @example
 * import { ProcessPool } from 'greenio';
 * const pool = new ProcessPool({ size: 2 });
 * const pid = await pool.apply(() => process.pid);
 * console.log(pid !== process.pid); // true
 * await pool.close();
 */
export class ProcessPool extends PoolSurface {
  constructor(options?: ProcessPoolOptions) {
    const o = checkOptions('options', options) as ProcessPoolOptions;
    if (o.env !== undefined && (typeof o.env !== 'object' || o.env === null)) throw new TypeError(expected('env', 'an object of environment variables', o.env));
    if (o.execArgv !== undefined && (!Array.isArray(o.execArgv) || !o.execArgv.every((a) => typeof a === 'string'))) {
      throw new TypeError(expected('execArgv', 'an array of strings', o.execArgv));
    }
    super(new TaskPool(processBackend(o), o, availableParallelism));
  }
}
