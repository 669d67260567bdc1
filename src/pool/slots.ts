/**
 * A Pool's line of slot waiters: greenlets blocked in `spawn`, `add` or `waitAvailable`
 * (hub ops) and maps queued for a slot, served first come first served by `Pool`. A doubly
 * linked list, so a waiter that gives up leaves in O(1). Limit: finding a queued map to
 * cancel walks the line (maps queue rarely, once each).
 */
import type { AnyOp, OpHandler } from '../hub/index.js';
import type { Greenlet } from '../greenlet.js';
import type { SlotClient } from './feed.js';
import { QueueFull } from '../errors.js';

/** One place in the line (a blocked greenlet's op, or a map). @internal */
export class SlotNode {
  prev: SlotNode | null = null;
  next: SlotNode | null = null;
  item: AnyOp | SlotClient | null = null;
  queued = false;
  /** `add()`'s timeout, for its message. */
  ms: number | undefined = undefined;
  constructor(
    readonly line: SlotLine,
    readonly g: Greenlet | null,
  ) {}
}

/** The FIFO itself; `Pool` decides who gets a slot. @internal */
export class SlotLine {
  head: SlotNode | null = null;
  tail: SlotNode | null = null;

  /** How many wait (for `toString`: walks the line). */
  get length(): number {
    let n = 0;
    for (let s = this.head; s !== null; s = s.next) n++;
    return n;
  }

  push(n: SlotNode): void {
    n.prev = this.tail;
    n.queued = true;
    if (this.tail === null) this.head = n;
    else this.tail.next = n;
    this.tail = n;
  }

  remove(n: SlotNode): void {
    if (!n.queued) return;
    n.queued = false;
    if (n.prev === null) this.head = n.next;
    else n.prev.next = n.next;
    if (n.next === null) this.tail = n.prev;
    else n.next.prev = n.prev;
    n.prev = n.next = null;
  }

  /** Queue map `f` for a slot. */
  pushClient(f: SlotClient): void {
    const n = new SlotNode(this, null);
    n.item = f;
    this.push(n);
  }

  /** Take map `f` out of the line, if it is there. */
  removeClient(f: SlotClient): void {
    for (let n = this.head; n !== null; n = n.next) {
      if (n.item === f) return this.remove(n);
    }
  }
}

/** `spawn`'s wait: the greenlet made for it never starts if it is cancelled, so nothing else to undo. */
export const SPAWN: OpHandler<Greenlet> = {
  start(op) {
    const n = op.data as SlotNode;
    n.item = op;
    n.line.push(n);
  },
  cancel(op) {
    const n = op.data as SlotNode;
    n.line.remove(n);
  },
};

/** A wait that ends at its own timeout with `settle(op, node)` (add, waitAvailable). */
function timed<T>(settle: (op: AnyOp, n: SlotNode) => void): OpHandler<T> {
  return {
    start: SPAWN.start as OpHandler<T>['start'],
    cancel: SPAWN.cancel as OpHandler<T>['cancel'],
    timeout(op) {
      const n = op.data as SlotNode;
      n.line.remove(n);
      settle(op, n);
    },
  };
}

/** `add`'s wait: its timeout rejects with `QueueFull`. */
export const ADD: OpHandler<void> = timed((op, n) => op.reject(new QueueFull(`pool is full: no slot freed within ${n.ms} ms`)));

/** `waitAvailable`'s wait: its timeout resolves `0`. */
export const AVAIL: OpHandler<number> = timed((op) => op.resolve(0));
