/**
 * The input side of `Group.map`, `imap` and `imapUnordered` (imap.ts): takes a slot of
 * the group per item, reads the input lazily (an item only once its slot is there) and
 * spawns each item's task in the caller's context (its AsyncLocalStorage stores, and the
 * caller as `parent`). Limits: at most `window` tasks outstanding; running tasks are never
 * killed, and the input's cleanup never runs inside a kill or a death.
 */
import { AsyncResource } from 'node:async_hooks';
import { spawn, type Greenlet } from '../greenlet.js';
import { reportCallbackError, type Watcher } from '../hub/index.js';
import { tracedMapper } from './task-tracing.js';

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
export type Mapper<T, R> = (item: T) => R | Promise<R>;

/** The input's own failure, delivered in its place among the outcomes. */
export class InputFailure {
  constructor(readonly error: unknown) {}
}
export type Entry = Greenlet | InputFailure;

// Flags of a feed.
export const STARTED = 1;
export const CLOSED = 2;
export const INPUT_DONE = 4;
export const PULLING = 8;
export const QUEUED = 16;
const GRANTED = 32;
const FILL_SOON = 64;

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * The input side shared by every mode: slots, lazy reads, spawning in the caller's
 * context (its AsyncLocalStorage stores, and the caller as `parent`).
 */
export abstract class Feed<T, R> implements Watcher, SlotClient {
  bits = 0;
  /** Spawned and not yet consumed. */
  outstanding = 0;
  /** Tasks launched so far (the next one's index, for tracing:greenio.task). */
  launches = 0;
  /** What tracing:greenio.task calls this map. */
  readonly traceKind: 'group.map' | 'group.imap' = 'group.imap';
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
    const g = spawn(tracedMapper(this.fn, this.traceKind, this.host, this.launches++), item);
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
export function fillFeed(f: { fill(): void }): void {
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

export function isPromise<V>(x: V | Promise<V>): x is Promise<V> {
  return typeof (x as Promise<V>)?.then === 'function';
}

