/**
 * `Future`: the outcome of a task submitted to a `ThreadPool` or `ProcessPool` (Python's
 * `concurrent.futures.Future`, in ms). Waiting on it is a hub wait (kill and Timeout
 * interrupt it); done callbacks run in the submitting thread as the outcome arrives. Not a
 * thenable, on purpose. Limits: `cancel()` cannot stop a running task; killing the greenlet
 * that awaits it does, by terminating the worker (see `result`).
 */
import * as hub from '../hub/index.js';
import { Op, type AnyOp, type OpHandler } from '../hub/index.js';
import { runSoon } from '../hub/index.js';
import { checkFunction, checkTimeout } from '../internal/validate.js';
import { kAddWatcher, kRemoveWatcher, slotAdd, slotRemove, type Waitable, type Watcher } from '../hub/index.js';
import type { Worker } from 'node:worker_threads';
import { CancelledError } from '../errors.js';

/** Something `postMessage` can move rather than copy (an ArrayBuffer, a MessagePort...). */
// Derived from Worker#postMessage rather than named: @types/node renamed its alias
// (TransferListItem is gone in 26), and this lands in the published .d.ts. Not from
// MessagePort: in 26 that is the web one, whose last overload takes an options object.
export type Transferable = NonNullable<Parameters<Worker['postMessage']>[1]>[number];

const K_RESULT = hub.kind('future.result');

/** @internal Lifecycle of a future (and of its task). */
export const enum FutureState {
  /** Waiting in the pool's queue (or for room in it). */
  Pending = 0,
  /** Handed to a worker (running, or about to start there). */
  Dispatched = 1,
  Finished = 2,
  Failed = 3,
  Cancelled = 4,
}

/**
 * What a future asks of the pool that runs its task (not stripped: task-pool.d.ts names it). `cancel` removes a task
 * that has not started (false once it runs); `abort` also stops one that runs, by
 * terminating its worker (a greenlet awaiting the future was interrupted).
 */
export interface FutureOwner {
  cancel(f: Future): boolean;
  abort(f: Future, reason: Error): void;
  isRunning(f: Future): boolean;
  label(f: Future): string;
}

type Callback = (f: never) => unknown;

/**
 * The outcome of a task submitted to a pool: `await f.result()` gives its value (or
 * throws its error), `addDoneCallback(cb)` runs `cb(f)` once it is done. Created by
 * `ThreadPool.submit` and `ProcessPool.submit`. Not a thenable: `await f` gives `f`.
 * @example
 * import { ThreadPool } from 'greenio';
 * const pool = new ThreadPool({ size: 2 });
 * const f = pool.submit((a: number, b: number) => a + b, 2, 3);
 * f.addDoneCallback((done) => console.log('done', done.done())); // done true
 * console.log(await f.result()); // 5
 * await pool.close();
 */
export class Future<T = unknown> implements Waitable {
  /** @internal */ _state: FutureState = FutureState.Pending;
  /** @internal The value, or the error (failed, cancelled). */
  _value: unknown = undefined;
  /** @internal Waiting ops and watchers, in arrival order: one, or an array. */
  _w: AnyOp | Watcher | Array<AnyOp | Watcher> | null = null;
  /** @internal */ _cbs: Callback[] | null = null;
  /** @internal */ _owner: FutureOwner | null;
  // The task itself, kept here so that a submit allocates one object (pool internals).
  /** @internal */ _def: number;
  /** @internal */ _args: unknown[] | null;
  /** @internal */ _xfer: Transferable[] | undefined;
  /** @internal The worker slot it was handed to. */
  _slot: unknown = null;
  /** @internal Its sequence number on that worker. */
  _seq = -1;

  /** @internal Futures are made by the pools (`submit`). */
  constructor(owner: FutureOwner | null = null, def = -1, args: unknown[] | null = null, xfer?: Transferable[]) {
    this._owner = owner;
    this._def = def;
    this._args = args;
    this._xfer = xfer;
  }

  /** True once it finished, failed or was cancelled. */
  done(): boolean {
    return this._state >= FutureState.Finished;
  }

  /** Alias of `done()`, for `wait()`/`iwait()`. */
  ready(): boolean {
    return this._state >= FutureState.Finished;
  }

  /** True while its task runs in a worker (started, not done). */
  running(): boolean {
    return this._state === FutureState.Dispatched && (this._owner === null || this._owner.isRunning(this));
  }

  /** True once it was cancelled (its `result()` throws `CancelledError`). */
  cancelled(): boolean {
    return this._state === FutureState.Cancelled;
  }

  /**
   * Cancel the task if it has not started: it is removed from the queue, the future
   * becomes cancelled and its callbacks run. Returns false if it runs or is done
   * (true if it was already cancelled), as Python's `Future.cancel()` does.
   */
  cancel(): boolean {
    const s = this._state;
    if (s === FutureState.Cancelled) return true;
    if (s >= FutureState.Finished) return false;
    if (this._owner === null) {
      this._settle(FutureState.Cancelled, new CancelledError('the future was cancelled'));
      return true;
    }
    return this._owner.cancel(this);
  }

  /**
   * The task's value; throws its error (`RemoteError`, `WorkerExitError`), or
   * `CancelledError` if cancelled. A hub wait (kind `future.result`): with `timeout`
   * it throws `TimeoutError` and the task keeps running; if the awaiting greenlet is
   * killed (or an enclosing `Timeout` fires), the task is cancelled: removed if queued,
   * its worker terminated and replaced if it runs.
   */
  result(timeout?: number): Promise<T> {
    const ms = checkTimeout('timeout', timeout);
    const s = this._state;
    if (s === FutureState.Finished) return Promise.resolve(this._value as T);
    if (s > FutureState.Finished) return Promise.reject(this._value);
    return hub.wait<T>(K_RESULT, this, RESULT as OpHandler<T>, this, ms);
  }

  /**
   * The task's error (`undefined` if it succeeded), waiting like `result()`; throws
   * `CancelledError` if it was cancelled.
   */
  exception(timeout?: number): Promise<unknown> {
    const ms = checkTimeout('timeout', timeout);
    const s = this._state;
    if (s === FutureState.Finished) return Promise.resolve(undefined);
    if (s === FutureState.Failed) return Promise.resolve(this._value);
    if (s === FutureState.Cancelled) return Promise.reject(this._value);
    return hub.wait<unknown>(K_RESULT, this, EXCEPTION, this, ms);
  }

  /**
   * Call `cb(future)` once it is done, in this thread, asynchronously (soon after the
   * outcome arrives, whether or not anyone awaits it; at once, asynchronously, if it is
   * already done). Callbacks run in the order they were added, each once; one that
   * throws is reported on stderr and does not stop the others.
   */
  addDoneCallback(cb: (f: Future<T>) => unknown): void {
    checkFunction('cb', cb);
    if (this._state >= FutureState.Finished) runSoon(cb, this);
    else (this._cbs ??= []).push(cb as Callback);
  }

  /** @internal Record the outcome, once: wake waiters now, callbacks soon. */
  _settle(state: FutureState, value: unknown): void {
    if (this._state >= FutureState.Finished) return;
    this._state = state;
    this._value = value;
    this._args = null; // the arguments are not needed any more: let them be collected
    this._xfer = undefined;
    const w = this._w;
    if (w !== null) {
      this._w = null;
      if (Array.isArray(w)) for (let i = 0; i < w.length; i++) notify(w[i]!, this);
      else notify(w, this);
    }
    const cbs = this._cbs;
    if (cbs !== null) {
      this._cbs = null;
      for (let i = 0; i < cbs.length; i++) runSoon(cbs[i] as (f: Future) => unknown, this);
    }
  }

  /** @internal */
  [kAddWatcher](w: Watcher): void {
    if (this._state >= FutureState.Finished) w.onReady(this);
    else this._watch(w);
  }

  /** @internal */
  [kRemoveWatcher](w: Watcher): void {
    this._unwatch(w);
  }

  /** @internal */
  _watch(w: AnyOp | Watcher): void {
    this._w = slotAdd(this._w, w);
  }

  /** @internal */
  _unwatch(w: AnyOp | Watcher): void {
    this._w = slotRemove(this._w, w);
  }

  /** For run-info: `ThreadPool task add`. */
  describe(): string {
    return this._owner === null ? 'future' : this._owner.label(this);
  }

  /** `<Future ThreadPool task add running>` for logs. */
  toString(): string {
    const st = this.running() ? 'running' : ['pending', 'pending', 'finished', 'failed', 'cancelled'][this._state];
    return `<Future ${this.describe()} ${st}>`;
  }
}

// A result() wait whose own timeout expired: the hub then calls `cancel`, which must
// not cancel the task (only a kill or an enclosing Timeout does). The hub calls
// `timeout` and `cancel` back to back, so one variable is enough.
let ownTimeout: AnyOp | null = null;

const RESULT: OpHandler<unknown> = {
  start(op) {
    (op.data as Future)._watch(op);
  },
  cancel(op, reason) {
    const f = op.data as Future;
    f._unwatch(op);
    if (op === ownTimeout) ownTimeout = null;
    else if (f._owner !== null && !f.done()) f._owner.abort(f, reason);
  },
  timeout(op) {
    ownTimeout = op;
  },
};
const EXCEPTION: OpHandler<unknown> = { start: RESULT.start, cancel: RESULT.cancel, timeout: RESULT.timeout };

function notify(w: AnyOp | Watcher, f: Future): void {
  if (!(w instanceof Op)) {
    w.onReady(f);
    return;
  }
  const s = f._state;
  if (w.handler === EXCEPTION) {
    if (s === FutureState.Cancelled) w.reject(f._value);
    else w.resolve(s === FutureState.Failed ? f._value : undefined);
  } else if (s === FutureState.Finished) {
    w.resolve(f._value);
  } else {
    w.reject(f._value);
  }
}
