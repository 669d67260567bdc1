/**
 * A FIFO list of parked waiters for the primitives that wake many at once or hand one
 * permit at a time (Event, AsyncResult, Semaphore, RLock): blocked hub ops, `wait()`
 * watchers and link callbacks, in arrival order. An interrupted op stays in place as a
 * tombstone (settled), skipped when taken, so cancelling is O(1) and a parked waiter
 * costs one array slot (100,000 parked greenlets must stay under 1 KiB each).
 */
import { Op, type AnyOp, type OpHandler } from './ops.js';
import { Deque } from '../internal/deque.js';
import type { Watcher } from './waitable.js';

/** A user callback kept in the same list to keep registration order (`AsyncResult.link`). */
export type LinkFn = (source: never) => unknown;
export type Parked = AnyOp | Watcher | LinkFn;

function isTombstone(x: Parked): boolean {
  return x instanceof Op && x.settled;
}

export class ParkedList {
  #items = new Deque<Parked>();
  /** Waiters still waiting (the deque may also hold tombstones). */
  size = 0;

  push(item: Parked): void {
    this.#items.push(item);
    this.size++;
  }

  /** A parked op was interrupted (it is settled now): count it out, compact if worth it. */
  drop(): void {
    this.size--;
    const n = this.#items.length;
    if (n > 16 && n > 2 * this.size) this.#items.filter((x) => !isTombstone(x));
  }

  /** Remove the first `item` (or every one, with `all`): watchers and links, rarely. */
  removeItem(item: Parked, all: boolean): void {
    let removed = 0;
    this.#items.filter((x) => {
      if (x !== item || (!all && removed > 0)) return true;
      removed++;
      return false;
    });
    this.size -= removed;
  }

  /** Remove and return the first op still waiting, or null (one permit, one waiter). */
  shiftOp<T>(): Op<T> | null {
    while (this.#items.length > 0) {
      const x = this.#items.take();
      if (isTombstone(x)) continue;
      this.size--;
      return x as Op<T>;
    }
    return null;
  }

  /**
   * Hand every waiter present now to `wake`, first come first served. The list is
   * swapped for a fresh one first: waiters that arrive meanwhile, or removals a wake-up
   * triggers, concern the new list and never the batch being woken.
   */
  drain<S>(wake: (item: Parked, source: S) => void, source: S): void {
    const batch = this.#items;
    if (batch.length === 0) return;
    this.#items = new Deque<Parked>();
    this.size = 0;
    while (batch.length > 0) {
      const x = batch.take();
      if (!isTombstone(x)) wake(x, source);
    }
  }

  /** `, 3 waiting` for descriptions (empty when none). */
  describe(): string {
    return this.size === 0 ? '' : `, ${this.size} waiting`;
  }
}

/**
 * Handler of a wait parked in a ParkedList (given to `hub.wait` as `op.data`).
 * `onTimeout` gives the op's own timeout its result (without it, the hub's default
 * applies: cancel, then a TimeoutError). An op settles before it is counted out, so a
 * compaction already sees it as a tombstone. `onParked` runs once the op is parked (a
 * primitive's bookkeeping of its own waiters).
 */
export function parkedHandler<T>(onTimeout?: (op: AnyOp) => void, onParked?: (op: AnyOp) => void): OpHandler<T> {
  const h: OpHandler<T> = {
    start:
      onParked === undefined
        ? (op) => {
            (op.data as ParkedList).push(op);
          }
        : (op) => {
            (op.data as ParkedList).push(op);
            onParked(op);
          },
    cancel(op) {
      (op.data as ParkedList).drop();
    },
  };
  if (onTimeout !== undefined) {
    h.timeout = (op) => {
      onTimeout(op);
      (op.data as ParkedList).drop();
    };
  }
  return h;
}
