/**
 * A worker pool's queue: futures waiting for a worker, oldest first (a cancelled one is
 * left where it lies and skipped), and the `maxQueue` back-pressure: futures waiting for
 * room in it as hub waits (`apply`, `map`), admitted in order. Limit: cancelling a
 * future that waits for room searches the waiters (they are few: one per blocked caller).
 */
import * as hub from '../hub/index.js';
import type { AnyOp, Kind, OpHandler } from '../hub/index.js';
import { FutureState, type Future } from './future.js';
import { CancelledError } from '../errors.js';

/** A future waiting for room in the queue has this `_seq` (and its wait in `_slot`: it has no worker yet). */
export const ADMITTING = -2;

/** See the module header. */
export class TaskQueue {
  /** Futures waiting for a worker (cancelled ones not counted). */
  length = 0;
  readonly #q: Array<Future | undefined> = [];
  #qh = 0;
  /** Waits for room (`op.detail` the future), oldest first. */
  readonly admitting: AnyOp[] = [];
  readonly #kAdmit: Kind;

  constructor(
    readonly maxQueue: number,
    name: string,
  ) {
    this.#kAdmit = hub.kind(`${name.toLowerCase()}.admit`);
  }

  /** True when a new future would have to wait (or be refused). */
  get full(): boolean {
    return this.length >= this.maxQueue || this.admitting.length > 0;
  }

  push(f: Future): void {
    this.#q.push(f);
    this.length++;
  }

  /** The oldest pending future (the queue is not empty). */
  take(): Future {
    for (;;) {
      const f = this.#q[this.#qh]!;
      this.#q[this.#qh++] = undefined;
      if (this.#qh === this.#q.length) {
        this.#q.length = 0;
        this.#qh = 0;
      } else if (this.#qh > 4096 && this.#qh * 2 > this.#q.length) {
        this.#q.splice(0, this.#qh);
        this.#qh = 0;
      }
      if (f._state === FutureState.Pending) {
        this.length--;
        return f;
      }
    }
  }

  /** Put tasks that never started back at the front, in order. */
  requeue(fs: Future[]): void {
    for (const f of fs) {
      f._state = FutureState.Pending;
      f._slot = null;
      f._seq = -1;
    }
    this.#q.splice(this.#qh, 0, ...fs);
    this.length += fs.length;
  }

  /** Wait (a hub wait) until `f` is admitted by `admitNext`. */
  waitForRoom(f: Future): Promise<void> {
    f._seq = ADMITTING;
    return hub.wait<void>(this.#kAdmit, f, ADMIT, this);
  }

  /** The next future waiting for room, admitted now (its wait resolved), if there is room. */
  admitNext(): Future | null {
    if (this.admitting.length === 0 || this.length >= this.maxQueue) return null;
    const op = this.admitting.shift()!;
    const f = op.detail as Future;
    f._seq = -1;
    f._slot = null;
    op.resolve(undefined);
    return f;
  }

  /** A pending future leaves: its wait for room, or its place (left as a tombstone). */
  drop(f: Future): void {
    if (f._seq === ADMITTING) dropAdmission(f._slot as AnyOp);
    else this.length--;
  }

  /** The pool closed: every wait for room is refused with `error()`, its future cancelled. */
  refuseAll(error: () => Error): void {
    for (const op of this.admitting.splice(0)) {
      (op.detail as Future)._settle(FutureState.Cancelled, new CancelledError('the pool was closed'));
      op.reject(error());
    }
  }
}

const ADMIT: OpHandler<void> = {
  start(op) {
    (op.detail as Future)._slot = op;
    (op.data as TaskQueue).admitting.push(op);
  },
  cancel(op) {
    dropAdmission(op);
    (op.detail as Future)._settle(FutureState.Cancelled, new CancelledError('the task was cancelled while it waited for room in the queue'));
  },
};

function dropAdmission(op: AnyOp): void {
  const f = op.detail as Future;
  const q = (op.data as TaskQueue).admitting;
  const i = q.indexOf(op);
  if (i >= 0) q.splice(i, 1);
  f._slot = null;
  f._seq = -1;
  if (!op.settled) op.reject(new CancelledError('the task was cancelled while it waited for room in the queue'));
}
