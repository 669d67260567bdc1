/**
 * What queues and channels share: FIFO lists of hub ops (blocked getters, putters,
 * joiners) and the module-level handlers of their waits. An interrupted op (kill,
 * Timeout, its own timeout) stays in its list as a tombstone, skipped when taken, so
 * cancelling is O(1); the list is compacted once tombstones outnumber live waiters.
 */
import type { AnyOp, OpHandler } from './ops.js';
import { recycle } from './switch.js';
import { QueueEmpty, QueueFull, QueueShutDown } from '../errors.js';
import { Deque } from '../internal/deque.js';
import { checkBoolean, checkOptions, checkTimeout } from '../internal/validate.js';

/** Blocked waiters in the order they began waiting. */
export class WaitList {
  /** Waiters still waiting (the deque may also hold tombstones). */
  live = 0;
  readonly ops = new Deque<AnyOp>();

  add(op: AnyOp): void {
    this.ops.push(op);
    this.live++;
  }

  /** Remove and return the first waiter still waiting, or undefined. */
  take(): AnyOp | undefined {
    if (this.live === 0) {
      if (this.ops.length !== 0) this.ops.clear(); // only tombstones left
      return undefined;
    }
    for (;;) {
      const op = this.ops.take();
      // Only interrupted ops are settled while still listed: everything settled by
      // the queue is taken off first.
      if (!op.settled) {
        this.live--;
        return op;
      }
    }
  }

  /** An op in the list was interrupted (it is settled now): count it out. */
  drop(): void {
    this.live--;
    const n = this.ops.length;
    if (n > 16 && n > 2 * this.live) this.ops.filter(isWaiting);
  }

  /** Remove every waiter; returns those still waiting, in order. */
  clear(): AnyOp[] {
    const out: AnyOp[] = [];
    for (let op = this.take(); op !== undefined; op = this.take()) out.push(op);
    return out;
  }
}

/**
 * Complete a waiter taken off its list with `value`, and let the hub reuse its op: the
 * caller reads what it needs of the op (its item) before, and never touches it after.
 */
export function handOver(op: AnyOp, value: unknown): void {
  op.resolve(value);
  recycle(op);
}

function isWaiting(op: AnyOp): boolean {
  return !op.settled;
}

/** Anything with getter and putter lists: the `detail` of a queue's waits. */
export interface HasWaiters {
  readonly _getters: WaitList;
  readonly _putters: WaitList;
}

// A timed-out op is settled (rejected) before it is counted out, so that a compaction
// run by `drop()` already sees it as a tombstone.

/** A blocked `get()`: the queue hands it an item with `op.resolve(item)`. */
export const GET_WAIT: OpHandler<unknown> = {
  start(op) {
    (op.detail as HasWaiters)._getters.add(op);
  },
  cancel(op) {
    (op.detail as HasWaiters)._getters.drop();
  },
  timeout(op) {
    op.reject(new QueueEmpty());
    (op.detail as HasWaiters)._getters.drop();
  },
};

/** A blocked `peek()`: in the getters' list, resolved with an item it does not take. */
export const PEEK_WAIT: OpHandler<unknown> = {
  start: GET_WAIT.start!,
  cancel: GET_WAIT.cancel!,
  timeout: GET_WAIT.timeout!,
};

/** A blocked `put()`: `op.data` is its item, which enters the queue when resolved. */
export const PUT_WAIT: OpHandler<void> = {
  start(op) {
    (op.detail as HasWaiters)._putters.add(op);
  },
  cancel(op) {
    (op.detail as HasWaiters)._putters.drop();
  },
  timeout(op) {
    op.reject(new QueueFull());
    (op.detail as HasWaiters)._putters.drop();
  },
};

/** What `parseWait` returns for `block: false` (any timeout is then ignored, as in Python). */
export const NO_BLOCK = -1;

/**
 * Check `{ block, timeout }`: returns `undefined` (wait for ever), the timeout in ms, or
 * `NO_BLOCK`. One number, so parsing allocates nothing.
 */
export function parseWait(options: unknown): number | undefined {
  if (options === undefined) return undefined;
  const o = checkOptions('options', options);
  const block = checkBoolean('block', o.block, true);
  const ms = checkTimeout('timeout', o.timeout);
  return block ? ms : NO_BLOCK;
}

/** Options of a queue's `put`, `get` and `peek`. */
export interface QueueWaitOptions {
  /** Wait when the queue is full (put) or empty (get, peek); default true. */
  block?: boolean;
  /** With `block`, give up after this many ms (`QueueFull` / `QueueEmpty`). */
  timeout?: number;
}

/**
 * A queue's or channel's async iteration: `take()` until it throws `QueueShutDown` and
 * the queue is shut down (the loop then ends cleanly). An item at hand is yielded
 * without an extra microtask turn.
 */
export async function* iterateUntilShutDown<T>(take: () => T | Promise<T>, isShut: () => boolean): AsyncGenerator<T, void, undefined> {
  for (;;) {
    let item: T;
    try {
      const r = take();
      item = r instanceof Promise ? await r : r;
    } catch (e) {
      if (e instanceof QueueShutDown && isShut()) return;
      throw e;
    }
    yield item;
  }
}
