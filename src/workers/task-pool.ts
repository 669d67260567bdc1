/**
 * The machinery ThreadPool and ProcessPool share: the queue (`maxQueue` back-pressure),
 * workers started on demand up to `size`, batches handed ahead to busy threads, replies
 * matched to futures, dead workers replaced, idle ones unref'ed and retired, `close()`.
 * Backends only start a worker and wire its events to `onReply`/`onExit` (worker-slot.ts).
 */
import * as hub from '../hub/index.js';
import type { AnyOp, Kind, OpHandler } from '../hub/index.js';
import { Future, FutureState, type FutureOwner } from './future.js';
import { originalClearTimeout, originalSetImmediate, originalSetTimeout } from '../internal/originals.js';
import { checkInt, checkIterable, checkOptions, checkTimeout } from '../internal/validate.js';
import { ERR, OK, SKIPPED, checkArgs, decodeError, prepareArgs } from './task-codec.js';
import { TaskDefs, describeTask } from './task-defs.js';
import { mapTasks } from './task-map.js';
import { TaskQueue } from './task-queue.js';
import { Slot, type Backend } from './worker-slot.js';
import { IdleSweep } from './idle-sweep.js';
import { CancelledError, PoolClosedError, QueueFull } from '../errors.js';

/** The options both pools take. */
export interface TaskPoolOptions {
  /** The most workers at once (default `os.availableParallelism()`). */
  size?: number;
  /** Ms an idle worker lives before it exits (default 10,000; `Infinity`: never). */
  idleTimeout?: number;
  /** The most tasks waiting for a worker (default `Infinity`): see `submit` and `apply`. */
  maxQueue?: number;
}

const MAX_DEPTH = 64;
// Hand a worker at most about this much work (µs) beyond what it runs: enough to hide
// the message round trip for tiny tasks, never a queue of long ones behind a busy worker.
const AHEAD_US = 500;

/** The queue, the workers and their bookkeeping; see the module header. */
export class TaskPool implements FutureOwner {
  readonly size: number;
  readonly idleTimeout: number;
  closed = false;
  readonly #q: TaskQueue;
  readonly #slots = new Set<Slot>();
  #live = 0;
  readonly #defs = new TaskDefs();
  #depth = 1;
  #avgUs = -1;
  #pumpSoon = false;
  readonly #closeQ: AnyOp[] = [];
  #finished = false;
  #gone = false;
  readonly #sweep: IdleSweep;
  #forceTimer: ReturnType<typeof setTimeout> | null = null;
  readonly #kClose: Kind;

  constructor(readonly backend: Backend, options: unknown, defaultSize: () => number) {
    const o = checkOptions('options', options) as TaskPoolOptions;
    if (o.size !== undefined) checkInt('size', o.size, 1);
    this.size = o.size ?? Math.max(1, defaultSize());
    this.idleTimeout = o.idleTimeout === Infinity ? Infinity : (checkTimeout('idleTimeout', o.idleTimeout) ?? 10_000);
    const mq = o.maxQueue;
    if (mq !== undefined && mq !== Infinity) checkInt('maxQueue', mq, 0);
    this.#q = new TaskQueue(mq ?? Infinity, backend.name);
    this.#kClose = hub.kind(`${backend.name.toLowerCase()}.close`);
    this.#sweep = new IdleSweep(this.idleTimeout, this.#slots, (s) => this.#retire(s, false));
  }

  /** Tasks waiting for a worker. */
  get queued(): number {
    return this.#q.length;
  }

  get maxQueue(): number {
    return this.#q.maxQueue;
  }

  /** Live workers (started, not exiting). */
  get workers(): number {
    return this.#live;
  }

  // --- Submitting -------------------------------------------------------------------

  /** A future for `task(...args)`, not yet queued; validates both (throws TypeError). */
  make(task: unknown, args: unknown[]): Future {
    const def = this.#defs.idOf(task);
    return new Future(this, def, args, prepareArgs(args, this.backend.threads));
  }

  /** Queue `task(...args)` now: throws `PoolClosedError`, or `QueueFull` (it never waits). */
  submit(task: unknown, args: unknown[]): Future {
    const f = this.make(task, args);
    if (this.closed) throw this.#closedError();
    if (this.#q.length >= this.#q.maxQueue) {
      this.#pump(); // idle workers may take some right now
      if (this.#q.full) throw new QueueFull(`${this.backend.name} queue is full (maxQueue ${this.maxQueue})`);
    }
    this.#enqueue(f);
    return f;
  }

  /** `task(...args)`'s result, waiting for room in the queue if it is full. */
  apply(task: unknown, args: unknown): Promise<unknown> {
    const f = this.make(task, checkArgs(args));
    const w = this.admit(f);
    return w === undefined ? f.result() : w.then(() => f.result());
  }

  /** `task(item)` for each item, results in input order (see ThreadPool.map). */
  map(task: unknown, iterable: unknown): Promise<unknown[]> {
    checkIterable('iterable', iterable);
    describeTask(task); // a bad task throws here, synchronously
    if (this.closed) return Promise.reject(this.#closedError());
    return mapTasks(this, task, iterable);
  }

  #closedError(): PoolClosedError {
    return new PoolClosedError(`${this.backend.name} is closed`);
  }

  /** Queue `f` once there is room (a hub wait), or now; undefined when queued at once. */
  admit(f: Future): Promise<void> | undefined {
    if (this.closed) return Promise.reject(this.#closedError());
    const q = this.#q;
    if (q.length >= q.maxQueue && q.admitting.length === 0) this.#pump();
    if (!q.full) {
      this.#enqueue(f);
      return undefined;
    }
    return q.waitForRoom(f);
  }

  #enqueue(f: Future): void {
    this.#q.push(f);
    if (!this.#pumpSoon) {
      this.#pumpSoon = true;
      queueMicrotask(() => this.#pump());
    }
  }

  // --- Dispatching --------------------------------------------------------------------

  #pump(): void {
    this.#pumpSoon = false;
    while (this.queued > 0) {
      let best: Slot | null = null;
      for (const s of this.#slots) if (!s.dying && (best === null || s.inflight < best.inflight)) best = s;
      if ((best === null || best.inflight > 0) && this.#live < this.size) best = this.#startSlot();
      if (best === null || best.inflight > this.#depth >> 1) break;
      this.#send(best, Math.min(this.#depth - best.inflight, Math.ceil(this.queued / this.size)));
    }
    for (let f = this.#q.admitNext(); f !== null; f = this.#q.admitNext()) this.#enqueue(f);
  }

  #startSlot(): Slot {
    const s = new Slot(this, this.backend.threads);
    // Outside any greenlet: a worker belongs to the pool, not to whoever submitted first
    // (a patch must not tie it to that greenlet's lifetime).
    s.w = hub.outside(() => this.backend.start(s));
    this.#slots.add(s);
    this.#live++;
    return s;
  }

  #send(s: Slot, n: number): void {
    const fs: Future[] = [];
    while (n-- > 0 && this.queued > 0) fs.push(this.#q.take());
    s.hand(fs, this.#defs.msgs);
  }

  // --- Replies and exits ----------------------------------------------------------------

  /** A message from slot `s`'s worker. */
  onReply(s: Slot, m: unknown): void {
    s.replies++; // `{ ready }` first: the worker started
    if (!Array.isArray(m)) {
      const crash = (m as { crash?: unknown }).crash;
      if (crash !== undefined) s.crash = decodeError(crash);
      return;
    }
    const f = s.answered(m[0] as number);
    const code = m[1] as number;
    if (f !== undefined && code !== SKIPPED) {
      f._slot = null;
      if (code === OK) f._settle(FutureState.Finished, m[2]);
      else if (code === ERR) f._settle(FutureState.Failed, decodeError(m[2]));
      this.#observe(m[3] as number);
    }
    if (this.queued > 0) {
      if (s.inflight <= this.#depth >> 1) this.#pump();
    } else if (s.inflight === 0 && !s.dying) {
      this.#idle(s);
    }
  }

  #observe(us: number): void {
    if (!this.backend.threads) return;
    this.#avgUs = this.#avgUs < 0 ? us : this.#avgUs * 0.9 + us * 0.1;
    this.#depth = Math.max(1, Math.min(MAX_DEPTH, Math.floor(AHEAD_US / Math.max(this.#avgUs, 1))));
  }

  /** Slot `s`'s worker exited (`code`) or was killed (`signal`). */
  onExit(s: Slot, code: number | null, signal: string | null): void {
    if (!this.#slots.delete(s)) return;
    if (!s.dying) this.#live--;
    s.dying = true;
    const back: Future[] = [];
    const lost: Future[] = [];
    for (const f of s.release()) {
      f._slot = null;
      // A task it never claimed goes to another worker, unless this one never started
      // (every worker would fail the same way: fail the tasks rather than loop).
      if (s.replies > 0 && s.revoke(f._seq)) back.push(f);
      else lost.push(f);
    }
    if (back.length > 0) this.#q.requeue(back);
    for (const f of lost) f._settle(FutureState.Failed, s.exitError(this.backend.name, code, signal));
    if (lost.length === 0 && s.crash !== undefined) {
      const e = s.crash as { stack?: string };
      process.stderr.write(`greenio: an idle ${this.backend.name} worker (${s.who}) died: ${e.stack ?? String(e)}\n`);
    }
    if (this.queued > 0) this.#pump();
    this.#checkClosed();
  }

  // --- Cancelling ------------------------------------------------------------------------

  /** Python's cancel(): only a task that has not started. */
  cancel(f: Future): boolean {
    if (f._state === FutureState.Pending) {
      this.#q.drop(f);
      f._settle(FutureState.Cancelled, new CancelledError('the task was cancelled before it started'));
      this.#pump();
      return true;
    }
    if (f._state === FutureState.Dispatched && (f._slot as Slot).revoke(f._seq)) {
      f._settle(FutureState.Cancelled, new CancelledError('the task was cancelled before it started'));
      return true;
    }
    return false;
  }

  /** A greenlet awaiting `f` was interrupted: cancel the task, even a running one. */
  abort(f: Future, reason: Error): void {
    if (f.done() || this.cancel(f)) return;
    const s = f._slot as Slot | null;
    if (s === null || f._state !== FutureState.Dispatched) return;
    if (s.ring !== null) {
      // Take back the tasks queued behind it on that worker, then look again: once
      // nothing is left to claim, a task still claimed is the one running.
      const back = s.revokeAllBut(f);
      if (back.length > 0) this.#q.requeue(back);
      if (s.finished(f)) {
        this.#pump(); // its result is on the way; the others may go anywhere
        return;
      }
    }
    f._settle(FutureState.Cancelled, new CancelledError(`the task was cancelled while it ran (the greenlet awaiting it got ${reason.name}); its worker (${s.who}) was stopped`));
    this.#retire(s, true);
    this.#pump();
  }

  isRunning(f: Future): boolean {
    const s = f._slot as Slot | null;
    return s === null || s.claimed(f);
  }

  label(f: Future): string {
    return `${this.backend.name} task ${this.#defs.label(f._def)}`;
  }

  // --- Idle workers, closing ---------------------------------------------------------------

  #retire(s: Slot, hard: boolean): void {
    if (s.dying) return;
    s.dying = true;
    this.#live--;
    if (hard) s.w.kill();
    else s.w.stop();
  }

  #idle(s: Slot): void {
    this.#sweep.idle(s, this.closed);
    if (this.closed) this.#checkClosed();
  }

  /** Refuse new tasks, let queued and running ones finish, then stop every worker. */
  close(ms: number | undefined): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.#q.refuseAll(() => this.#closedError());
      if (ms !== undefined) {
        this.#forceTimer = originalSetTimeout(() => this.#force(), ms);
        this.#forceTimer.unref();
      }
      this.#checkClosed();
    }
    if (this.#gone) return Promise.resolve();
    return hub.wait<void>(this.#kClose, this.backend.name, CLOSE, this);
  }

  // close({ timeout }) expired: cancel what is queued, stop what runs.
  #force(): void {
    this.#forceTimer = null;
    const err = (): CancelledError => new CancelledError(`${this.backend.name} was closed before this task finished (close timeout)`);
    while (this.queued > 0) this.#q.take()._settle(FutureState.Cancelled, err());
    for (const s of this.#slots) {
      if (s.inflight === 0) continue;
      for (let i = s.head; i < s.dq.length; i++) s.dq[i]?._settle(FutureState.Cancelled, err());
      this.#retire(s, true);
    }
    this.#checkClosed();
  }

  #checkClosed(): void {
    if (!this.closed || this.#finished || this.queued > 0) return;
    for (const s of this.#slots) if (!s.dying && s.inflight > 0) return;
    for (const s of this.#slots) {
      // Whoever awaits close() waits for the exits: they must keep the process alive.
      if (!s.refd) {
        s.refd = true;
        s.w.ref();
      }
      this.#retire(s, false);
    }
    if (this.#slots.size > 0) return; // each exit calls back here
    this.#finished = true;
    this.#sweep.stop();
    if (this.#forceTimer !== null) originalClearTimeout(this.#forceTimer);
    this.#forceTimer = null;
    // Node closes a worker's or child's handle after its exit event, in a later phase of
    // the loop: resolve once it is gone, so that close() leaves no handle behind.
    originalSetImmediate(() => originalSetImmediate(() => {
      this.#gone = true;
      for (const op of this.#closeQ.splice(0)) op.resolve(undefined);
    }));
  }

  /** @internal */
  _closeWaiter(op: AnyOp, add: boolean): void {
    if (add) {
      if (this.#gone) op.resolve(undefined);
      else this.#closeQ.push(op);
    } else {
      const i = this.#closeQ.indexOf(op);
      if (i >= 0) this.#closeQ.splice(i, 1);
    }
  }
}

const CLOSE: OpHandler<void> = {
  start(op) {
    (op.data as TaskPool)._closeWaiter(op, true);
  },
  cancel(op) {
    (op.data as TaskPool)._closeWaiter(op, false);
  },
};
