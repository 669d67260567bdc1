/**
 * The engine of `Group.map`, `imap` and `imapUnordered` over a feed (feed.ts): hands the
 * outcomes to the consumer in input or completion order. Limits: at most `window` tasks
 * are outstanding (running, or finished and not yet consumed), so an ordered `imap`
 * whose first task is slow runs fewer tasks at once; running tasks are never killed.
 * Outcomes are `Task` records (worker.ts), not greenlets: workers run many tasks each.
 */
import * as hub from '../hub/index.js';
import { removeFrom, type AnyOp, type Op, type OpHandler } from '../hub/index.js';
import { Deque } from '../internal/deque.js';
import { Feed, fillFeed, type Entry, type Mapper, type Task } from './feed.js';
import type { MapHost } from './map-host.js';
import { CLOSED, INPUT_DONE, InputFailure, PULLING, QUEUED, STARTED } from './input.js';

const K_IMAP = hub.kind('group.imap');
const K_MAP = hub.kind('group.map');


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
  readonly queue = new Deque<Entry>();
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

  launched(t: Task): void {
    if (this.ordered) this.queue.push(t);
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
    const e = this.queue.top();
    if (e === undefined) return null;
    if (this.ordered && !(e instanceof InputFailure) && !e.dead) return null;
    this.queue.take();
    return e;
  }

  give(e: Entry, to: Op<IteratorResult<R>> | null): Promise<IteratorResult<R>> | void {
    let error: unknown;
    let ok = false;
    if (e instanceof InputFailure) {
      error = e.error;
    } else {
      this.held++;
      if (!e.failed) ok = true;
      else error = e.result;
    }
    if (!ok) {
      // The consumer's loop ends with this error and will not call return(): close now.
      this.close(false);
      if (to === null) return Promise.reject(error);
      to.reject(error);
      return;
    }
    const result: IteratorResult<R> = { done: false, value: (e as Task).result as R };
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
  override readonly traceKind = 'group.map';
  readonly results: R[] = [];
  /** Outstanding tasks, in input order. */
  readonly order = new Deque<Task>();
  op: AnyOp | null = null;

  launched(t: Task): void {
    this.order.push(t);
  }

  arrive(e: Entry | null): void {
    const op = this.op!;
    if (e instanceof InputFailure || (e !== null && e.failed)) {
      this.close(false);
      op.reject(e instanceof InputFailure ? e.error : e!.result);
      return;
    }
    const order = this.order;
    for (let t = order.top(); t !== undefined && t.dead; t = order.top()) {
      order.take();
      this.outstanding--;
      this.results.push(t.result as R);
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

