/**
 * The input of a map (feed.ts builds on it): the iterator, opened and read in the caller's
 * context one item at a time (a sync read, or an async one in flight), its end or failure
 * handed on as an outcome, and its closing (`return()`). Limits: one read at a time; the
 * input's cleanup never runs inside a kill or a death (it is deferred to a microtask then).
 */
import { AsyncResource } from 'node:async_hooks';
import { reportCallbackError } from '../hub/index.js';

type Input<T> = Iterator<T> | AsyncIterator<T>;

/** The input's own failure, delivered in its place among the outcomes. */
export class InputFailure {
  constructor(readonly error: unknown) {}
}

// Flags of a map (`bits`): its input's here, its runners' in feed.ts (GRANTED and up).
export const STARTED = 1;
export const CLOSED = 2;
export const INPUT_DONE = 4;
export const PULLING = 8;
export const QUEUED = 16;

const RESOLVED: Promise<void> = Promise.resolve();

/** The reading side of a map: what the runners (feed.ts) are given items from. @internal */
export abstract class InputReader<T> {
  bits = 0;
  it: Input<T> | null = null;
  /** The caller's async context, captured at the call (cheaper than a snapshot function). */
  readonly ctx = new AsyncResource('greenio.map');
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

  constructor(public source: Iterable<T> | AsyncIterable<T> | null) {}

  /** Open the input and start filling (in the caller's context). */
  begin(): void {
    if ((this.bits & CLOSED) !== 0) return; // return() came first
    this.bits |= STARTED;
    this.ctx.runInAsyncScope(openInput, null, this);
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

  /** Read one item and launch its task; false if reading stops here (async read, end, failure). */
  readOne(): boolean {
    let r: IteratorResult<T> | Promise<IteratorResult<T>>;
    try {
      r = this.it!.next();
    } catch (e) {
      this.inputEnded(new InputFailure(e));
      return false;
    }
    if (isPromise(r)) {
      this.bits |= PULLING;
      r.then(this.onPulled, this.onPullFailed);
      return false;
    }
    if (r.done === true) {
      this.inputEnded(null);
      return false;
    }
    this.launch(r.value);
    return true;
  }

  /** The input ended, or failed (`failure`): no more reads. */
  inputEnded(failure: InputFailure | null): void {
    this.bits |= INPUT_DONE;
    this.it = null;
    this.inputDone();
    this.arrive(failure);
  }

  /** Close the input (the map is closed): `return()` soon, or now with `now` (its promise, if any). */
  closeInput(now: boolean): Promise<unknown> | undefined {
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

  /** Read and launch while the runners allow (in the caller's context). */
  abstract fill(): void;
  /** Run `item`'s task. */
  abstract launch(item: T): void;
  /** The input ended or failed: what was kept for reading goes back. */
  abstract inputDone(): void;
  /** An outcome arrived: the input's failure, or null for its end (and dead tasks, feed.ts). */
  abstract arrive(e: InputFailure | null): void;
}

function openInput(f: { open(): void }): void {
  f.open();
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
