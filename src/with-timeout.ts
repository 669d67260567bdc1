/**
 * `withTimeout` (gevent's `with Timeout(ms)`): a `Timeout` scoped to a function's own
 * async flow that always settles at its deadline. A flow awaiting a promise greenio
 * cannot see is abandoned then (see `Race`): its late result is dropped and counted.
 * Limits: abandoning cannot stop that flow's code; a CPU loop that never waits is not
 * interrupted at all.
 */
import * as hub from './hub/index.js';
import { Flow } from './hub/index.js';
import { originalSetImmediate } from './internal/originals.js';
import { expected } from './internal/validate.js';
import { functionSite, reachHint, warnOnce } from './internal/unreachable.js';
import { greenletLabel } from './hub/index.js';
import { wraps } from './errors.js';
import { Timeout, TimeoutError } from './timeout.js';

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
  /** When it fired (the hub's clock): IO the flow begins since is its unwinding's. */
  since = Infinity;
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
    this.since = hub.exactNow();
    // An interrupt that reached an op (a socket destroyed, a callback called with the
    // error) may take a few loop turns to unwind fn (a 'close' event): wait that long.
    this.state = delivered ? hub.UNWIND_GRACE_TURNS : 0;
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
  // A thenable that is not a plain promise may start its work only when awaited (a knex
  // query builder, a postgres.js query, a Promise subclass, sends its query on `then`):
  // awaited in the timed flow, that work is the flow's, so the deadline reaches it. A plain
  // promise's work has begun in fn already.
  if (Object.getPrototypeOf(r) === Promise.prototype) void follow(t, r as Promise<T>);
  else void hub.runIn(flow, follow, t as Race<unknown, unknown>, r as unknown as PromiseLike<unknown>);
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
