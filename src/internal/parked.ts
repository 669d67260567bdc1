/**
 * A FIFO list of parked waiters for the primitives that wake many at once or hand one
 * permit at a time (Event, AsyncResult, Semaphore, RLock): blocked hub ops, `wait()`
 * watchers and link callbacks, in arrival order. Doubly linked, so an interrupted waiter
 * leaves in O(1) (10,000 waiters with timeouts must not cost 10,000² steps).
 * (Queues use `waiters.ts`: tombstones in a ring buffer suit their one-at-a-time hand-off.)
 */
import type { AnyOp, OpHandler } from '../hub.js';
import type { Watcher } from './waitable.js';

/** A user callback kept in the same list to keep registration order (`AsyncResult.link`). */
export type LinkFn = (source: never) => unknown;
export type Parked = AnyOp | Watcher | LinkFn;

export interface ParkedNode {
  item: Parked;
  prev: ParkedNode | null;
  next: ParkedNode | null;
  /** The list holding it; null once it left (woken, cancelled, timed out). */
  list: ParkedList | null;
  /** Arrival number: a wake-up takes only the waiters that arrived before it. */
  seq: number;
}

export class ParkedList {
  head: ParkedNode | null = null;
  tail: ParkedNode | null = null;
  size = 0;
  seq = 0;

  push(item: Parked): ParkedNode {
    const n: ParkedNode = { item, prev: this.tail, next: null, list: this, seq: this.seq++ };
    if (this.tail === null) this.head = n;
    else this.tail.next = n;
    this.tail = n;
    this.size++;
    return n;
  }

  remove(n: ParkedNode): void {
    if (n.list !== this) return;
    if (n.prev === null) this.head = n.next;
    else n.prev.next = n.next;
    if (n.next === null) this.tail = n.prev;
    else n.next.prev = n.prev;
    n.prev = n.next = null;
    n.list = null;
    this.size--;
  }

  /** Remove the first node holding `item` (or every one, with `all`). */
  removeItem(item: Parked, all: boolean): void {
    for (let n = this.head; n !== null; ) {
      const next = n.next;
      if (n.item === item) {
        this.remove(n);
        if (!all) return;
      }
      n = next;
    }
  }

  /** Remove and return the first op still waiting, or null (one permit, one waiter). */
  shiftOp<T>(): import('../hub.js').Op<T> | null {
    for (let n = this.head; n !== null; n = this.head) {
      this.remove(n);
      // Interrupted ops leave the list at once; the check guards the invariant that
      // nothing is ever handed to a settled op.
      const op = n.item as AnyOp;
      if (!op.settled) return op;
    }
    return null;
  }

  /**
   * Take every waiter present now, first come first served, and hand each to `wake`.
   * One at a time, so the list stays consistent whatever a wake-up triggers (a
   * diagnostics subscriber that kills a later waiter); waiters that arrive meanwhile
   * are not taken.
   */
  drain<S>(wake: (item: Parked, source: S) => void, source: S): void {
    const end = this.seq;
    for (let n = this.head; n !== null && n.seq < end; n = this.head) {
      this.remove(n);
      wake(n.item, source);
    }
  }

  /** `, 3 waiting` for descriptions (empty when none). */
  describe(): string {
    return this.size === 0 ? '' : `, ${this.size} waiting`;
  }
}

/**
 * Handler of a wait parked in a ParkedList: `hub.wait` is given the list as `op.data`;
 * `start` swaps it for the op's node. `onTimeout` gives the op's own timeout its result
 * (without it, the hub's default applies: cancel, then a TimeoutError).
 */
export function parkedHandler<T>(onTimeout?: (op: AnyOp) => void): OpHandler<T> {
  const h: OpHandler<T> = {
    start(op) {
      op.data = (op.data as ParkedList).push(op);
    },
    cancel(op) {
      const n = op.data as ParkedNode;
      n.list?.remove(n);
    },
  };
  if (onTimeout !== undefined) {
    h.timeout = (op) => {
      const n = op.data as ParkedNode;
      n.list?.remove(n);
      onTimeout(op);
    };
  }
  return h;
}
