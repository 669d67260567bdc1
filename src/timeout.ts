/**
 * Timeouts (gevent's `Timeout`): a started `Timeout` interrupts the flow that started
 * it at its switch point. `withTimeout` scopes one to a function's own async flow and
 * always settles at its deadline: a flow awaiting a promise greenio cannot see is
 * abandoned then (see `Race`). Limits: a bare `Timeout` cannot resume an `await` of such
 * a promise (JavaScript cannot): it interrupts the flow's next greenio wait; a CPU loop
 * that never waits is interrupted by neither.
 */
import * as hub from './hub/index.js';
import { Flow } from './hub/index.js';
import { originalSetImmediate } from './internal/originals.js';
import { clearTimer, setTimer, timerSeam } from './internal/clock.js';
import { dequeue, enqueue, type TimedEntry } from './timeout-timer.js';
import { expected } from './internal/validate.js';
import { functionSite, reachHint, warnOnce } from './internal/unreachable.js';
import { greenletLabel } from './hub/index.js';
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
  const t = new Race<T, V>(ms);
  if (typeof fn !== 'function') throw new TypeError(expected('fn', 'a function', fn));
  if (options !== undefined) {
    if (typeof options !== 'object' || options === null) throw new TypeError(expected('options', 'an options object', options));
    if ('timeoutValue' in options) {
      t.quiet = true;
      t.timeoutValue = options.timeoutValue;
    }
  }
  return runWithTimeout(t, fn);
}

const K_ABANDONED = hub.kind('withTimeout abandoned');

/**
 * One `withTimeout` call, and its Timeout (one object: a call should stay small): `fn`'s
 * promise raced against the deadline. At the deadline the flow is interrupted; if it is
 * then in no greenio wait, or once its greenio waits are over (its `finally` blocks may
 * still wait), and it has not settled, it is abandoned: the race settles with the
 * timeout, `fn`'s late outcome is dropped and counted, and the flow is dead
 * (hub.abandonFlow).
 */
class Race<T, V> extends Timeout implements hub.FlowWatch {
  res: (v: T | V) => void = noop;
  rej: (e: unknown) => void = noop;
  /** The error the Timeout fired with, once it fired. */
  fired: Error | null = null;
  /**
   * DONE once settled; after the deadline, the loop turns left before abandoning a flow
   * whose interrupt reached an op.
   */
  state = 0;
  /** What run-info shows while the abandoned flow stays suspended. */
  lost: Lost | null = null;
  fn: unknown = undefined;
  quiet = false;
  timeoutValue: V | undefined = undefined;

  get flow(): Flow {
    return this._flow;
  }

  ok(v: T): void {
    if (this.state === DONE) return this.late();
    this.end();
    this.res(v);
  }

  failed(e: unknown): void {
    if (this.state === DONE) return this.late();
    this.end();
    const fired = this.fired;
    if (fired !== null && e !== fired && wraps(e, fired)) {
      // A library wrapped the timeout in its own error: still this timeout, with the
      // library's error kept as the cause.
      if (this.quiet) return this.res(this.timeoutValue as V);
      return this.rej(new TimeoutError(this, fired.message, { cause: e }));
    }
    if (this.quiet && e instanceof TimeoutError && e.timeout === this) return this.res(this.timeoutValue as V);
    this.rej(e);
  }

  override _expired(err: Error, delivered: boolean): void {
    if (this.state === DONE) return;
    this.fired = err;
    // An interrupt that reached an op (a socket destroyed, a callback called with the
    // error) may take a few loop turns to unwind fn (a 'close' event): wait that long.
    this.state = delivered ? 3 : 0;
    hub.watchExpiring(this.flow, this);
  }

  abandon(): boolean {
    if (this.state === DONE) return true;
    if (this.state > 0) {
      this.state--;
      return false;
    }
    this.state = DONE;
    const err = this.fired!;
    const flow = this.flow;
    hub.abandonFlow(flow, err);
    this.cancel();
    hub.abandonCounts.timeouts++;
    this.lost = new Lost(this._startedAt, `withTimeout ${this.ms} ms: awaits a promise greenio cannot see`);
    const lost = (flow.greenlet.rare().unreached ??= new Set());
    // Bounded: a flow that never resumes would otherwise be listed forever.
    if (lost.size >= 64) lost.delete(lost.values().next().value!);
    lost.add(this.lost);
    if (this.quiet) this.res(this.timeoutValue as V);
    else this.rej(err);
    // Said after the caller has resumed: finding the site reads the inspector (slow once).
    originalSetImmediate(reportRace, this as unknown as Race<unknown, unknown>);
    return true;
  }

  /** @internal The stderr line, the trace event and run-info's text. */
  report(): void {
    const g = this.flow.greenlet;
    const site = functionSite(this.fn);
    const fnName = typeof this.fn === 'function' && this.fn.name ? `${this.fn.name} ` : 'fn ';
    const lost = this.lost!;
    lost.what = `withTimeout ${this.ms} ms: ${fnName}${site ? `(${site}) ` : ''}awaits a promise greenio cannot see`;
    hub.publishAbandoned(g, K_ABANDONED, lost.what, lost.since, this.fired);
    warnOnce(
      site || `${fnName}${String(this.fn).slice(0, 200)}`,
      `withTimeout(${this.ms} ms) in ${greenletLabel(g)} could not interrupt ${fnName.trim()}${site ? ` at ${site}` : ''}: it awaits a promise greenio cannot see, so it was abandoned at its deadline (its late result is dropped; its next greenio wait throws). To make it reachable, ${reachHint()}. (config.warnUnreachable = false silences this.)`,
    );
  }

  private end(): void {
    this.state = DONE;
    if (this.fired !== null) hub.unwatchExpiring(this.flow);
    this.cancel();
  }

  private late(): void {
    hub.abandonCounts.lateResults++;
    if (this.lost !== null) this.flow.greenlet.x?.unreached?.delete(this.lost);
  }
}

const DONE = -1;

class Lost implements hub.Unreached {
  constructor(
    readonly since: number,
    public what: string,
  ) {}
}

function reportRace(r: Race<unknown, unknown>): void {
  r.report();
}

let newRace: Race<unknown, unknown> | null = null;
function raceExec(res: (v: unknown) => void, rej: (e: unknown) => void): void {
  newRace!.res = res;
  newRace!.rej = rej;
}

function runWithTimeout<T, V>(t: Race<T, V>, fn: () => T | Promise<T>): Promise<T | V> {
  const flow = Flow.sub(hub.currentFlow());
  t._startOn(flow);
  let r: T | Promise<T>;
  try {
    r = hub.runIn(flow, fn);
  } catch (e) {
    t.cancel();
    return Promise.reject(e);
  }
  if (r === null || (typeof r !== 'object' && typeof r !== 'function') || typeof (r as PromiseLike<T>).then !== 'function') {
    t.cancel();
    return Promise.resolve(r as T);
  }
  t.fn = fn;
  newRace = t as Race<unknown, unknown>;
  const p = new Promise<T | V>(raceExec as (res: (v: T | V) => void, rej: (e: unknown) => void) => void);
  newRace = null;
  void follow(t, r as PromiseLike<T>);
  return p;
}

function noop(): void {}

// An async function rather than `.then(v => ..., e => ...)`: no closures to allocate.
async function follow<T, V>(race: Race<T, V>, r: PromiseLike<T>): Promise<void> {
  let v: T;
  try {
    v = await r;
  } catch (e) {
    race.failed(e);
    return;
  }
  race.ok(v);
}
