/**
 * The engine of `Group.map`, `imap` and `imapUnordered`: reads the input lazily (an item
 * only once a slot is free for it), runs each item in its own greenlet, and hands the
 * outcomes to the consumer in input or completion order. Limits: at most `window` tasks
 * are outstanding (running, or finished and not yet consumed), so an ordered `imap`
 * whose first task is slow runs fewer tasks at once; running tasks are never killed.
 */
import { AsyncResource } from 'node:async_hooks';
import * as hub from '../hub/index.js';
import type { AnyOp, Op, OpHandler } from '../hub/index.js';
import { spawn, type Greenlet } from '../greenlet.js';
import { reportCallbackError } from '../hub/index.js';
import { removeFrom, type Watcher } from '../hub/index.js';

/** What a map needs from its group: slots and membership. @internal */
export interface MapHost {
  /** How many tasks an imap keeps outstanding: the pool's capacity (Infinity for a Group). */
  readonly _window: number;
  /** Take a slot for `f` now (true), or queue `f` for one: `f._slotGranted()` comes later. */
  _requestSlot(f: SlotClient): boolean;
  /** Leave the slot queue. */
  _cancelSlot(f: SlotClient): void;
  /** Give back a slot taken or granted and not used. */
  _releaseSlot(): void;
  /** Make `g`, spawned with a slot taken for it, a member watched by `w`. */
  _addTask(g: Greenlet, w: Watcher): void;
  /** A member died: forget it and free its slot. */
  _discard(g: Greenlet): boolean;
}

/** Something queued for a pool slot besides a waiting greenlet. @internal */
export interface SlotClient {
  _slotGranted(): void;
}

type Input<T> = Iterator<T> | AsyncIterator<T>;
type Mapper<T, R> = (item: T) => R | Promise<R>;

/** The input's own failure, delivered in its place among the outcomes. */
class InputFailure {
  constructor(readonly error: unknown) {}
}
type Entry = Greenlet | InputFailure;

// Flags of a feed.
const STARTED = 1;
const CLOSED = 2;
const INPUT_DONE = 4;
const PULLING = 8;
const QUEUED = 16;
const GRANTED = 32;
const FILL_SOON = 64;

const RESOLVED: Promise<void> = Promise.resolve();
const K_IMAP = hub.kind('group.imap');
const K_MAP = hub.kind('group.map');

/**
 * The input side shared by every mode: slots, lazy reads, spawning in the caller's
 * context (its AsyncLocalStorage stores, and the caller as `parent`).
 */
abstract class Feed<T, R> implements Watcher, SlotClient {
  bits = 0;
  /** Spawned and not yet consumed. */
  outstanding = 0;
  /** Spawned and still running. */
  running = 0;
  it: Input<T> | null = null;
  /** The caller's async context, captured at the call (cheaper than a snapshot function). */
  readonly ctx = new AsyncResource('greenio.map');
  readonly fillSoon = (): void => {
    this.bits &= ~FILL_SOON;
    this.ctx.runInAsyncScope(fillFeed, null, this);
  };
  readonly onPulled = (r: IteratorResult<T>): void => {
    this.bits &= ~PULLING;
    if ((this.bits & CLOSED) !== 0) return; // closed meanwhile: its slot went back then
    if (r.done === true) this.inputEnded(null);
    else this.launch(r.value);
    this.fill();
  };
  readonly onPullFailed = (e: unknown): void => {
    this.bits &= ~PULLING;
    if ((this.bits & CLOSED) === 0) this.inputEnded(new InputFailure(e));
  };

  constructor(
    readonly host: MapHost,
    readonly fn: Mapper<T, R>,
    public source: Iterable<T> | AsyncIterable<T> | null,
    readonly window: number,
  ) {}

  /** Open the input and start filling (in the caller's context). */
  begin(): void {
    if ((this.bits & CLOSED) !== 0) return; // return() came first
    this.bits |= STARTED;
    this.ctx.runInAsyncScope(openFeed, null, this);
  }

  open(): void {
    const s = this.source as Partial<AsyncIterable<T> & Iterable<T>>;
    this.source = null;
    try {
      this.it = typeof s[Symbol.asyncIterator] === 'function' ? (s as AsyncIterable<T>)[Symbol.asyncIterator]() : (s as Iterable<T>)[Symbol.iterator]();
    } catch (e) {
      this.bits |= INPUT_DONE;
      this.arrive(new InputFailure(e));
      return;
    }
    this.fill();
  }

  /** Spawn tasks while a slot, room in the window and input are there. Never inside a signal. */
  fill(): void {
    for (;;) {
      const b = this.bits;
      if ((b & (CLOSED | INPUT_DONE | PULLING)) !== 0) return;
      if ((b & GRANTED) === 0) {
        if ((b & QUEUED) !== 0 || this.outstanding >= this.window) return;
        if (!this.host._requestSlot(this)) {
          this.bits |= QUEUED;
          return;
        }
        this.bits |= GRANTED;
      }
      const it = this.it!;
      let r: IteratorResult<T> | Promise<IteratorResult<T>>;
      try {
        r = it.next();
      } catch (e) {
        this.inputEnded(new InputFailure(e));
        return;
      }
      if (isPromise(r)) {
        this.bits |= PULLING;
        r.then(this.onPulled, this.onPullFailed);
        return;
      }
      if (r.done === true) {
        this.inputEnded(null);
        return;
      }
      this.launch(r.value);
    }
  }

  launch(item: T): void {
    this.bits &= ~GRANTED;
    const g = spawn(this.fn, item);
    this.host._addTask(g, this);
    this.outstanding++;
    this.running++;
    this.launched(g);
  }

  /** The input ended, or failed (`failure`): no more reads, the slot taken for one goes back. */
  inputEnded(failure: InputFailure | null): void {
    this.bits |= INPUT_DONE;
    this.it = null;
    this.giveBackSlot();
    this.arrive(failure);
  }

  giveBackSlot(): void {
    if ((this.bits & GRANTED) !== 0) {
      this.bits &= ~GRANTED;
      this.host._releaseSlot();
    }
    if ((this.bits & QUEUED) !== 0) {
      this.bits &= ~QUEUED;
      this.host._cancelSlot(this);
    }
  }

  /** A slot freed while this feed was queued for one (inside a signal: fill later). */
  _slotGranted(): void {
    this.bits = (this.bits & ~QUEUED) | GRANTED;
    if ((this.bits & CLOSED) !== 0) this.giveBackSlot();
    else this.fillLater();
  }

  fillLater(): void {
    if ((this.bits & (FILL_SOON | CLOSED | INPUT_DONE)) !== 0) return;
    this.bits |= FILL_SOON;
    void RESOLVED.then(this.fillSoon);
  }

  /** A task died (called synchronously inside its death: only bookkeeping and wake-ups). */
  onReady(g: Greenlet): void {
    this.host._discard(g);
    this.running--;
    if ((this.bits & CLOSED) === 0) this.arrive(g);
  }

  /** Stop reading: leave the slot queue, close the input (soon, or now with `now`). */
  close(now: boolean): Promise<unknown> | undefined {
    if ((this.bits & CLOSED) !== 0) return undefined;
    this.bits |= CLOSED;
    this.giveBackSlot();
    this.closed();
    const it = this.it;
    this.it = null;
    if (it === null || typeof it.return !== 'function' || (this.bits & INPUT_DONE) !== 0) return undefined;
    if (!now || (this.bits & PULLING) !== 0) {
      // Never run the input's cleanup inside a kill or a death; and never make a consumer
      // that breaks out wait behind a read the input has not finished.
      void RESOLVED.then(() => this.ctx.runInAsyncScope(returnQuietly, null, it));
      return undefined;
    }
    const r = this.ctx.runInAsyncScope(callReturn, null, it);
    return isPromise(r) ? r : undefined;
  }

  /** Record the task `launched` in input order (ordered modes). */
  abstract launched(g: Greenlet): void;
  /** An outcome arrived: a dead task, the input's failure, or null for the input's end. */
  abstract arrive(e: Entry | null): void;
  /** Called once, when the feed closes: settle or drop what waits. */
  abstract closed(): void;
}

function openFeed(f: { open(): void }): void {
  f.open();
}
function fillFeed(f: { fill(): void }): void {
  f.fill();
}
function callReturn(it: Input<unknown>): unknown {
  return it.return!();
}
const INPUT_RETURN = { name: 'iterable return' };
function returnQuietly(it: Input<unknown>): void {
  try {
    const r = it.return!();
    if (isPromise(r)) r.then(undefined, (e: unknown) => reportCallbackError(INPUT_RETURN, e));
  } catch (e) {
    reportCallbackError(INPUT_RETURN, e);
  }
}
/**
 * A task killed with `GreenletExit` is successful with the exit as its value (gevent),
 * but it gave no result: the consumer gets the exit thrown, not a value of the wrong type.
 */
function succeeded(g: Greenlet): boolean {
  return g.successful() && (g.killed === null || g.value !== g.killed);
}
function failureOf(g: Greenlet): unknown {
  return g.successful() ? g.value : g.exception;
}

function isPromise<V>(x: V | Promise<V>): x is Promise<V> {
  return typeof (x as Promise<V>)?.then === 'function';
}

/** A small FIFO (array with a moving head): push, peek, shift. */
class Fifo<E> {
  items: (E | undefined)[] = [];
  head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(e: E): void {
    this.items.push(e);
  }
  peek(): E | undefined {
    return this.items[this.head];
  }
  shift(): E | undefined {
    const e = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return e;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined }) as IteratorReturnResult<undefined>;

// The consumer's wait for its next outcome.
const NEXT: OpHandler<IteratorResult<unknown>> = {
  start(op) {
    const it = op.data as IMapIterator<unknown, unknown>;
    // next() found nothing ready, and nothing is ready while others wait (pump runs at
    // every arrival): only join the line.
    it.waits++;
    it.waiters.push(op);
  },
  cancel(op) {
    const it = op.data as IMapIterator<unknown, unknown>;
    removeFrom(it.waiters, op);
    // An interrupted consumer has left the loop (for-await does not call return() after a
    // rejected next()): stop as a break would.
    it.close(false);
  },
};

/**
 * The async iterator `imap` and `imapUnordered` return. Single use, like a generator:
 * `[Symbol.asyncIterator]()` returns itself.
 */
export class IMapIterator<T, R> extends Feed<T, R> implements AsyncIterableIterator<R> {
  /** Outcomes ready to give: in input order (ordered: every outstanding task) or as they came. */
  readonly queue = new Fifo<Entry>();
  readonly waiters: Op<IteratorResult<R>>[] = [];
  /** Results handed to the consumer that still count against the window until its next call. */
  held = 0;
  /** Waits begun, to tell a wait that never began. */
  waits = 0;

  constructor(host: MapHost, fn: Mapper<T, R>, source: Iterable<T> | AsyncIterable<T>, readonly ordered: boolean) {
    super(host, fn, source, host._window);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<R>> {
    if ((this.bits & STARTED) === 0) {
      this.begin();
    } else if (this.held > 0) {
      // The consumer is back for more: what it took leaves the window, and the input
      // is read for the room that makes (here, in the consumer's call: no extra turn).
      this.outstanding -= this.held;
      this.held = 0;
      if ((this.bits & (CLOSED | INPUT_DONE | PULLING | QUEUED)) === 0) this.ctx.runInAsyncScope(fillFeed, null, this);
    }
    if (this.waiters.length === 0) {
      const e = this.take();
      if (e !== null) return this.give(e, null) as Promise<IteratorResult<R>>;
      if (this.exhausted()) return Promise.resolve(this.finish());
    }
    const waits = this.waits;
    const p = hub.wait<IteratorResult<R>>(K_IMAP, this.host, NEXT as OpHandler<IteratorResult<R>>, this);
    // A pending interrupt (kill, Timeout) rejected it before it began: the loop ends there.
    if (this.waits === waits) this.close(false);
    return p;
  }

  /** Stop: the input is closed (its cleanup awaited), running tasks go on, their outcomes are dropped. */
  return(value?: R): Promise<IteratorResult<R>> {
    let r: Promise<unknown> | undefined;
    try {
      r = this.close(true);
    } catch (e) {
      return Promise.reject(e);
    }
    const result = { done: true, value } as IteratorReturnResult<R>;
    return r === undefined ? Promise.resolve(result) : r.then(() => result);
  }

  launched(g: Greenlet): void {
    if (this.ordered) this.queue.push(g);
  }

  arrive(e: Entry | null): void {
    if (e !== null && !this.ordered && this.queue.length === 0 && this.waiters.length > 0) {
      this.give(e, this.waiters.shift()!); // the common case: straight to the waiting consumer
      return;
    }
    // Ordered: tasks wait in the queue since their launch; the input's failure comes last.
    if (e !== null && (e instanceof InputFailure || !this.ordered)) this.queue.push(e);
    this.pump();
  }

  /** Give ready outcomes to waiting consumers, in the order they called next(). */
  pump(): void {
    while (this.waiters.length > 0) {
      const e = this.take();
      if (e === null) {
        if (this.exhausted()) {
          const end = this.finish();
          for (const w of this.waiters.splice(0)) w.resolve(end);
        }
        return;
      }
      this.give(e, this.waiters.shift()!);
    }
  }

  /** The next outcome to give, or null if it is not ready. */
  take(): Entry | null {
    const e = this.queue.peek();
    if (e === undefined) return null;
    if (this.ordered && !(e instanceof InputFailure) && !e.dead) return null;
    this.queue.shift();
    return e;
  }

  give(e: Entry, to: Op<IteratorResult<R>> | null): Promise<IteratorResult<R>> | void {
    let error: unknown;
    let ok = false;
    if (e instanceof InputFailure) {
      error = e.error;
    } else {
      this.held++;
      if (succeeded(e)) ok = true;
      else error = failureOf(e);
    }
    if (!ok) {
      // The consumer's loop ends with this error and will not call return(): close now.
      this.close(false);
      if (to === null) return Promise.reject(error);
      to.reject(error);
      return;
    }
    const result: IteratorResult<R> = { done: false, value: (e as Greenlet<R>).value as R };
    if (to === null) return Promise.resolve(result);
    to.resolve(result);
  }

  exhausted(): boolean {
    return (this.bits & CLOSED) !== 0 || ((this.bits & INPUT_DONE) !== 0 && this.queue.length === 0 && this.running === 0);
  }

  finish(): IteratorReturnResult<undefined> {
    this.bits |= CLOSED;
    return DONE;
  }

  closed(): void {
    this.queue.clear();
    const ws = this.waiters.splice(0);
    for (const w of ws) w.resolve(DONE as IteratorResult<R>);
  }
}

// The caller's wait for the whole map.
const MAP: OpHandler<unknown[]> = {
  start(op) {
    const m = op.data as MapAll<unknown, unknown>;
    m.op = op;
    m.begin();
  },
  cancel(op) {
    (op.data as MapAll<unknown, unknown>).close(false);
  },
};

/** `map()`: collects outcomes in input order; the first failure (in time) rejects it. */
class MapAll<T, R> extends Feed<T, R> {
  readonly results: R[] = [];
  /** Outstanding tasks, in input order. */
  readonly order = new Fifo<Greenlet>();
  op: AnyOp | null = null;

  launched(g: Greenlet): void {
    this.order.push(g);
  }

  arrive(e: Entry | null): void {
    const op = this.op!;
    if (e instanceof InputFailure || (e !== null && !succeeded(e))) {
      this.close(false);
      op.reject(e instanceof InputFailure ? e.error : failureOf(e!));
      return;
    }
    const order = this.order;
    for (let g = order.peek(); g !== undefined && g.dead; g = order.peek()) {
      order.shift();
      this.outstanding--;
      this.results.push(g.value as R);
    }
    if ((this.bits & INPUT_DONE) !== 0 && this.running === 0) {
      this.bits |= CLOSED;
      op.resolve(this.results);
    }
  }

  closed(): void {
    this.order.clear();
  }
}

/** Run `fn` over `source` with `host`'s slots; resolves to the results in input order. @internal */
export function mapAll<T, R>(host: MapHost, fn: Mapper<T, R>, source: Iterable<T> | AsyncIterable<T>): Promise<R[]> {
  const m = new MapAll(host, fn, source, Infinity);
  return hub.wait<R[]>(K_MAP, host, MAP as OpHandler<R[]>, m);
}

