/**
 * Timeouts (gevent's `Timeout`): a started `Timeout` interrupts the flow that started
 * it at its switch point, with a `TimeoutError` naming it. `withTimeout` (with-timeout.ts)
 * scopes one to a function's own flow. Limits: a bare `Timeout` cannot resume an `await`
 * of a promise greenio cannot see (JavaScript cannot): it interrupts the flow's next
 * greenio wait; a CPU loop that never waits is not interrupted.
 */
import * as hub from './hub/index.js';
import { Flow } from './hub/index.js';
import { clearTimer, setTimer, timerSeam } from './internal/clock.js';
import { dequeue, enqueue, type TimedEntry } from './timeout-timer.js';
import { expected } from './internal/validate.js';
import { GreenioError, named, wraps } from './errors.js';

/**
 * Thrown at the switch point of a greenlet (or flow) whose `Timeout` fired, and by a
 * blocking call given `{ timeout }`. `timeout` is the `Timeout` that fired, so code can
 * tell its own timeout from an outer one: `if (e.timeout !== t) throw e`. It lives here,
 * beside `Timeout`, so errors.ts depends on no toolbox module.
 */
export class TimeoutError extends GreenioError {
  /** The `Timeout` that fired (an internal one for a blocking call's `{ timeout }`). */
  readonly timeout: Timeout | undefined;
  constructor(timeout?: Timeout, message?: string, options?: ErrorOptions) {
    super(message ?? (timeout && Number.isFinite(timeout.ms) ? `timed out after ${timeout.ms} ms` : 'timed out'), 'GREENIO_TIMEOUT', options);
    this.timeout = timeout;
  }
}
named(TimeoutError, 'TimeoutError');

// withTimeout's kind (with-timeout.ts), registered where it always was: kinds are listed in
// order of registration (stats().io, greenio ps), and this module loads first.
hub.kind('withTimeout abandoned');

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
  #counted = false;

  #uncount(): void {
    if (!this.#counted) return;
    this.#counted = false;
    (this.#flow as hub.Core).x!.timeouts--;
  }
  #fired: Error | null = null;
  // The error it threw when it last fired (kept for `matches`).
  #thrown: Error | null = null;
  // Its place in the shared timer: a TimedEntry of timeout-timer.ts (not an `implements`
  // clause, which would name these members in the public .d.ts that strips them).
  /** @internal */
  _deadline = 0;
  /** @internal */
  _tprev: TimedEntry | null = null;
  /** @internal */
  _tnext: TimedEntry | null = null;
  /** @internal */
  _lane: TimedEntry['_lane'] = null;

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

  /**
   * True if `error` is the error this Timeout threw when it fired, or a library's error
   * that wraps it (in `cause`, Sequelize's `parent`, TypeORM's `driverError`..., or with its
   * code and message copied: the rule withTimeout applies). False before it fired.
   * @example
   * const t = Timeout.startNew(500);
   * try { await db.query(sql); } catch (e) { if (!t.matches(e)) throw e; } finally { t.cancel(); }
   */
  matches(error: unknown): boolean {
    return this.#thrown !== null && wraps(error, this.#thrown);
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
      hub.enterFlow(flow);
    }
    return this._startOn(flow);
  }

  /** @internal `performance.now()` when it last started. */
  get _startedAt(): number {
    return this.#startedAt;
  }

  /** @internal Start it aimed at `flow`. */
  _startOn(flow: Flow): this {
    this.#flow = flow;
    // Counted on a spawned greenlet's own flow: a pool worker must not run its next task
    // under a Timeout the last one left pending (src/pool/worker.ts).
    if (flow.outer === null && flow !== hub.main) {
      (flow as hub.Core).rare().timeouts++;
      this.#counted = true;
    }
    const now = performance.now();
    this.#startedAt = now;
    this.#pending = true;
    if (this.ms !== Infinity) {
      // One Node timer for all Timeouts; a virtual clock (greenio/testing) times each itself.
      if (timerSeam.host === null) enqueue(this, now);
      else this.#timer = setTimer(fire, this.ms, this);
    }
    return this;
  }

  /** Stop it: it will not fire, and an interrupt it left undelivered is dropped. */
  cancel(): void {
    if (this._lane !== null) dequeue(this);
    else if (this.#timer !== null) {
      clearTimer(this.#timer);
      this.#timer = null;
    }
    this.#pending = false;
    this.#uncount();
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
    this.#uncount();
    const err = this.error instanceof Error ? this.error : new TimeoutError(this);
    this.#thrown = err;
    // A quiet one ends its greenlet successfully even when a library copied its error (greenlet-end.ts).
    if (this.error === false && this.#flow!.greenlet !== hub.main) (this.#flow!.greenlet as hub.Core).rare().quietFired = err;
    const delivered = hub.interrupt(this.#flow!, err, this.#startedAt);
    if (!delivered) this.#fired = err;
    this._expired(err, delivered);
  }

  /** @internal Fired with `err` (withTimeout's Race watches its flow then). */
  _expired(_err: Error, _delivered: boolean): void {}

  /** @internal The flow it interrupts (once started). */
  get _flow(): Flow {
    return this.#flow!;
  }

  toString(): string {
    return `<Timeout ${this.ms} ms${this.#pending ? ' pending' : ''}>`;
  }
}

function fire(t: Timeout): void {
  t._fire();
}
