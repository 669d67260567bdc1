/**
 * Timeouts (gevent's `Timeout`): a started `Timeout` interrupts the flow that started
 * it at its switch point. `withTimeout` scopes one to a function's own async flow.
 * Limits: like gevent's, a timeout fires only at a switch point: a CPU loop that never
 * waits, or an await on a promise greenio cannot see, is not interrupted (the error is
 * then thrown at the flow's next greenio wait).
 */
import * as hub from './hub.js';
import { Flow } from './hub.js';
import { originalClearTimeout, originalSetTimeout } from './internal/originals.js';
import { expected } from './internal/validate.js';
import { GreenioError, TimeoutError } from './errors.js';

function checkTimeoutMs(ms: unknown): number {
  if (ms === undefined || ms === null) return Infinity;
  if (typeof ms !== 'number') throw new TypeError(expected('ms', 'a number of milliseconds >= 0 (or undefined: never)', ms));
  if (!(ms >= 0)) throw new RangeError(expected('ms', 'a number of milliseconds >= 0 (or undefined: never)', ms));
  return ms;
}

/**
 * A timeout that, once started, throws at the switch point of the flow that started it.
 * With no `error` it throws a `TimeoutError` naming this `Timeout`; with an `Error`, that
 * error; with `false`, a quiet `TimeoutError` that ends the greenlet successfully.
 * @example
 * import { Timeout, TimeoutError, sleep } from 'greenio';
 * const t = Timeout.startNew(50);
 * try {
 *   await sleep(1000);
 * } catch (e) {
 *   if (!(e instanceof TimeoutError) || e.timeout !== t) throw e;
 * } finally {
 *   t.cancel();
 * }
 */
export class Timeout {
  /** Milliseconds until it fires once started (`Infinity`: never). */
  readonly ms: number;
  /** What it throws: an `Error`, `false` (quiet), or undefined (a `TimeoutError`). */
  readonly error: Error | false | undefined;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #flow: Flow | null = null;
  #startedAt = 0;
  #pending = false;
  #fired: Error | null = null;

  constructor(ms?: number | null, error?: Error | false) {
    this.ms = checkTimeoutMs(ms);
    if (error !== undefined && error !== false && !(error instanceof Error)) {
      throw new TypeError(expected('error', 'an Error, false or undefined', error));
    }
    this.error = error;
  }

  /** Create and start one. */
  static startNew(ms?: number | null, error?: Error | false): Timeout {
    return new Timeout(ms, error).start();
  }

  /** True while started and neither fired nor cancelled. */
  get pending(): boolean {
    return this.#pending;
  }

  /** The greenlet whose flow it interrupts (once started). */
  get greenlet(): hub.Core | undefined {
    return this.#flow?.greenlet;
  }

  /**
   * Start it in the current flow. In the main greenlet outside any scoped flow, the
   * current async flow gets its own context first, so the timeout reaches only it.
   */
  start(): this {
    if (this.#pending) throw new GreenioError('this Timeout is already started; cancel() it before starting it again', 'GREENIO_TIMEOUT_STARTED');
    let flow = hub.currentFlow();
    if (flow === hub.main) {
      flow = Flow.sub(flow);
      hub.als.enterWith(flow);
    }
    return this._startOn(flow);
  }

  /** @internal Start it aimed at `flow`. */
  _startOn(flow: Flow): this {
    this.#flow = flow;
    this.#startedAt = performance.now();
    this.#pending = true;
    if (this.ms !== Infinity) this.#timer = originalSetTimeout(fire, this.ms, this);
    return this;
  }

  /** Stop it: it will not fire, and an interrupt it left undelivered is dropped. */
  cancel(): void {
    if (this.#timer !== null) {
      originalClearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#pending = false;
    if (this.#flow !== null && this.#fired !== null) hub.clearPending(this.#flow, this.#fired);
    this.#fired = null;
  }

  /** Alias of `cancel()` (gevent's `close`). */
  close(): void {
    this.cancel();
  }

  /** @internal */
  _fire(): void {
    this.#timer = null;
    if (!this.#pending) return;
    this.#pending = false;
    const err = this.error instanceof Error ? this.error : new TimeoutError(this);
    if (!hub.interrupt(this.#flow!, err, this.#startedAt)) this.#fired = err;
  }

  toString(): string {
    return `<Timeout ${this.ms} ms${this.#pending ? ' pending' : ''}>`;
  }
}

function fire(t: Timeout): void {
  t._fire();
}

// A blocking call's own `{ timeout }` throws a TimeoutError naming an internal Timeout.
hub.setTimeoutErrorFactory((ms) => new TimeoutError(new Timeout(ms)));

/** Options of `withTimeout`. */
export interface WithTimeoutOptions<V> {
  /** When present (even `undefined`), resolve to it on timeout instead of throwing. */
  timeoutValue?: V;
}

/**
 * Run `fn` with a timeout scoped to its own async flow (gevent's `with Timeout(ms)`):
 * throws the `TimeoutError`, or resolves to `timeoutValue` when that option is present.
 * @example
 * import { withTimeout, sleep } from 'greenio';
 * const v = await withTimeout(10, () => sleep(1000), { timeoutValue: 'late' });
 * console.log(v); // 'late'
 */
export function withTimeout<T>(ms: number | null | undefined, fn: () => T | Promise<T>): Promise<T>;
export function withTimeout<T, V>(ms: number | null | undefined, fn: () => T | Promise<T>, options: WithTimeoutOptions<V>): Promise<T | V>;
export function withTimeout<T, V>(ms: number | null | undefined, fn: () => T | Promise<T>, options?: WithTimeoutOptions<V>): Promise<T | V> {
  // Arguments are checked synchronously: a bad one throws here, not in the promise.
  const t = new Timeout(ms);
  if (typeof fn !== 'function') throw new TypeError(expected('fn', 'a function', fn));
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw new TypeError(expected('options', 'an options object', options));
  const quiet = options !== undefined && 'timeoutValue' in options;
  return runWithTimeout(t, fn, quiet, options?.timeoutValue);
}

async function runWithTimeout<T, V>(t: Timeout, fn: () => T | Promise<T>, quiet: boolean, timeoutValue: V | undefined): Promise<T | V> {
  const flow = Flow.sub(hub.currentFlow());
  t._startOn(flow);
  try {
    return await hub.als.run(flow, fn);
  } catch (e) {
    if (quiet && e instanceof TimeoutError && e.timeout === t) return timeoutValue as V;
    throw e;
  } finally {
    t.cancel();
  }
}
