/**
 * A Pool's line of slot waiters: greenlets blocked in `spawn`, `add` or `waitAvailable`
 * (hub ops) and maps queued for a slot, and how free slots are handed to them, first come
 * first served. A doubly linked list, so a waiter that gives up leaves in O(1). Limit:
 * finding a queued map to cancel walks the line (maps queue rarely, once each).
 */
import { Op, type AnyOp, type OpHandler } from '../hub/index.js';
import type { Greenlet } from '../greenlet.js';
import type { SlotClient } from './map-host.js';
import type { Watcher } from '../hub/index.js';
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

/** A map whose workers park between tasks, holding their slots. @internal */
export interface ParkedMap {
  dismiss(): void;
  /** True while in a line's set of parked maps (so a park costs no Set lookup). */
  listed: boolean;
}

/** The FIFO itself. @internal */
export class SlotLine {
  head: SlotNode | null = null;
  tail: SlotNode | null = null;
  /** Maps with parked workers: dismissed (their slots come back) when another comes to wait. */
  #parked: Set<ParkedMap> | null = null;

  /** Remember `f` as a map with parked workers (true: for `Pool._park`). */
  parked(f: ParkedMap): true {
    if (!f.listed) {
      f.listed = true;
      (this.#parked ??= new Set()).add(f);
    }
    return true;
  }

  /** How many wait (for `toString`: walks the line). */
  get length(): number {
    let n = 0;
    for (let s = this.head; s !== null; s = s.next) n++;
    return n;
  }

  push(n: SlotNode): void {
    const maps = this.#parked;
    if (maps !== null) {
      for (const f of maps) {
        if (f === (n.item as unknown)) continue; // a map queues for more workers while its own park
        maps.delete(f);
        f.listed = false;
        f.dismiss();
      }
    }
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

  /** The greenlets' waits in the line (not the maps'), first come first. */
  ops(): AnyOp[] {
    const out: AnyOp[] = [];
    for (let n = this.head; n !== null; n = n.next) if (n.item instanceof Op) out.push(n.item);
    return out;
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

/** What serving the line needs of its pool (`Pool`; an interface so this file stays below it). @internal */
export interface SlotHost {
  readonly _members: Set<Greenlet>;
  readonly _watcher: Watcher;
  /** Slots granted to a map, not yet filled by its task. */
  _reserved: number;
  freeCount(): number;
  _adopt(g: Greenlet, w: Watcher): void;
}

/** Hand `pool`'s free slots to the waiters of `line`, first come first served. Only schedules. */
export function serveLine(line: SlotLine, pool: SlotHost): void {
  for (let n = line.head; n !== null && pool.freeCount() > 0; n = line.head) {
    line.remove(n);
    const w = n.item!;
    if (!(w instanceof Op)) {
      pool._reserved++;
      w._slotGranted();
      continue;
    }
    const g = n.g;
    if (w.handler === SPAWN) {
      pool._adopt(g!, pool._watcher);
      w.resolve(g);
      g!.start();
    } else if (w.handler === ADD) {
      if (!g!.dead && !pool._members.has(g!)) pool._adopt(g!, pool._watcher);
      w.resolve(undefined);
    } else {
      w.resolve(pool.freeCount()); // waitAvailable takes no slot: serve on
    }
  }
}
