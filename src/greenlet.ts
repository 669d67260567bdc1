/**
 * Greenlets: light tasks that each run a function under their own AsyncLocalStorage
 * context, so the hub knows who waits on what. `spawn` schedules and never switches;
 * `kill` interrupts at the greenlet's switch point. Not a thenable, on purpose (API.md).
 * Limits: a kill cannot unwind a greenlet suspended on a promise greenio cannot see; it
 * abandons it (declared dead with the kill error) by the next turn of the event loop.
 */
import * as hub from './hub/index.js';
import { Core, Rare, State, type AnyOp, type OpHandler } from './hub/index.js';
import { endChannel, spawnChannel } from './hub/index.js';
import { config } from './internal/config.js';
import { originalSetImmediate } from './internal/originals.js';
import { clearTimer, setTimer } from './internal/clock.js';
import { reportCallbackError } from './hub/index.js';
import { checkError, checkFunction, checkMs, checkOptions, checkTimeout, expected } from './internal/validate.js';
import { kAddWatcher, kRemoveWatcher, slotAdd, slotRemove, type Watcher, type WatchSlot } from './hub/index.js';
import { GreenletExit } from './errors.js';
import { FAILED, GET_HANDLER, JOIN_HANDLER, OBSERVED, isQuietTimeoutOf, notifyWatcher, reportAbandonedKill, reportUnjoined, spawnSite, unwrapOwnError, watchStuckAtExit } from './greenlet-end.js';
import { Links, type LinkMode } from './greenlet-links.js';
import { queueBegin, runGreenlet } from './greenlet-start.js';
import { Timeout, TimeoutError } from './timeout.js';

const K_JOIN = hub.kind('join');

let spawning = false;
const RESOLVED: Promise<void> = Promise.resolve();

/** Options of `kill()` and `killAll()`. */
export interface KillOptions {
  /** Wait for the greenlet to die (default true). */
  block?: boolean;
  /** With `block`, stop waiting after this many ms. */
  timeout?: number;
}

/** Options of `get()`. */
export interface GetOptions {
  block?: boolean;
  timeout?: number;
}

/**
 * A greenlet: `new Greenlet(fn, ...args)` creates one without starting it; `spawn()`
 * creates and starts one. `await g.get()` gives its value, `await g.join()` waits.
 * @example
 * import { Greenlet, sleep } from 'greenio';
 * const g = new Greenlet(async (x: number) => { await sleep(10); return x * 2; }, 21);
 * g.start();
 * console.log(await g.get()); // 42
 */
export class Greenlet<T = unknown> extends Core {
  /** The greenlet that created this one (null for the main greenlet). */
  readonly parent: Greenlet | null;
  /** The arguments `fn` is called with. */
  readonly args: readonly unknown[];
  /** @internal The value or the error, once dead (see `_bits`). */
  _result: unknown = undefined;
  /** @internal */ _fn: ((...args: never[]) => unknown) | null;
  // Joiners and collectors, in the order they came: one, or an array of them (most
  // greenlets have at most one joiner, and 100k of them should not mean 100k arrays).
  /** @internal */ _w: WatchSlot<AnyOp | Watcher> = null;
  /** @internal FAILED | OBSERVED */ _bits = 0;
  /** @internal The next greenlet started after this one and not yet begun (greenlet-start.ts). */ _nextBegin: Greenlet | null = null;

  constructor(fn: (...args: never[]) => T | Promise<T>, ...args: unknown[]);
  /** @internal */
  constructor(fn: ((...args: never[]) => unknown) | null, ...args: unknown[]) {
    const isMain = fn === null && mainPending;
    super(isMain);
    if (!isMain) checkFunction('fn', fn);
    this._fn = fn;
    this.args = args.length === 0 ? NO_ARGS : args;
    this.parent = isMain ? null : (hub.currentCore() as Greenlet);
    if (config.trackGreenletTree && !isMain) this._rare.spawnStack = spawnSite();
    // Runs in the creation context: the greenlet's ALS context (and the user's stores)
    // are those where it was created, whenever it starts.
    if (!spawning && !isMain) {
      const r = this._rare;
      r.gate = new Promise<void>((open) => (r.open = open));
      hub.runIn(this, runGreenlet, this);
    }
  }

  /** @internal */
  protected override makeRare(): GreenletRare {
    return new GreenletRare();
  }

  /** @internal */
  get _rare(): GreenletRare {
    return this.rare() as GreenletRare;
  }

  /** The value, once it finished successfully (a `GreenletExit` if it was killed). */
  get value(): T | undefined {
    return (this._bits & FAILED) === 0 ? (this._result as T | undefined) : undefined;
  }

  /** The error it died of, once it failed. */
  get exception(): unknown {
    return (this._bits & FAILED) !== 0 ? this._result : undefined;
  }

  /** Where it was spawned (with `config.trackGreenletTree`). */
  get spawnStack(): string | undefined {
    return (this.x as GreenletRare | null)?.spawnStack;
  }

  /** `Greenlet-<id>` unless set; the main greenlet is `main`. */
  get name(): string {
    return (this.x as GreenletRare | null)?.name ?? (this.isMain ? 'main' : `Greenlet-${this.id}`);
  }
  set name(v: string) {
    if (typeof v !== 'string') throw new TypeError(expected('name', 'a string', v));
    this._rare.name = v;
  }

  /** The function it runs (for reports). */
  get fnName(): string {
    return this._fn?.name || '';
  }

  /** True once it is dead: finished, failed, killed, or killed before it started. */
  get dead(): boolean {
    return this.state === State.Dead;
  }

  /** True once `start()` (or `spawn`) was called and it has not died before running. */
  get started(): boolean {
    return this.state !== State.Created;
  }

  /** True once dead (gevent's `ready()`). */
  ready(): boolean {
    return this.state === State.Dead;
  }

  /** True once dead without an error (a `GreenletExit` counts as success). */
  successful(): boolean {
    return this.state === State.Dead && (this._bits & FAILED) === 0;
  }

  /** Schedule it to start after the caller's current synchronous run. No-op if started. */
  start(): void {
    if (this.state !== State.Created || this.isMain) return;
    this.state = State.Scheduled;
    hub.register(this);
    watchStuckAtExit();
    if (spawnChannel.hasSubscribers) spawnChannel.publish({ greenlet: this });
    const r = this.x as GreenletRare | null;
    if (r !== null && r.open !== null) {
      r.open();
      r.open = null;
    } else if (hub.enterInJobReady()) {
      // One reaction in the starter's context; it enters the greenlet's flow itself (one
      // context frame, where `runIn` makes two: the flow's and the starter's restored).
      queueBegin(this);
    } else {
      hub.runIn(this, runGreenlet, this);
    }
  }

  /** Start it after `ms` milliseconds. */
  startLater(ms: number): void {
    checkMs('ms', ms);
    const r = this._rare;
    if (this.state !== State.Created || r.laterTimer !== null) return;
    r.laterTimer = setTimer(startLaterNow, ms, this);
  }

  /** Wait until it is dead (never rejects because of it); resolves at `timeout` too. */
  join(timeout?: number): Promise<void> {
    const ms = checkTimeout('timeout', timeout);
    this._bits |= OBSERVED;
    if (this.state === State.Dead) return RESOLVED;
    return hub.wait<void>(K_JOIN, this, JOIN_HANDLER, this, ms);
  }

  /** Its value, or throw its error; `TimeoutError` at `timeout` (at once with `block: false`). */
  get(options?: GetOptions): Promise<T> {
    const o = checkOptions('options', options);
    const ms = checkTimeout('timeout', o.timeout);
    this._bits |= OBSERVED;
    if (this.state === State.Dead) {
      return (this._bits & FAILED) === 0 ? Promise.resolve(this._result as T) : Promise.reject(this._result);
    }
    if (o.block === false) return Promise.reject(new TimeoutError(undefined, `${this.name} is not ready`));
    return hub.wait<T>(K_JOIN, this, GET_HANDLER as OpHandler<T>, this, ms);
  }

  /**
   * Interrupt it with `error` (default `GreenletExit`) at its switch point; by default
   * wait for it to die. Never throws for its state; only a bad argument throws.
   */
  kill(error?: Error, options?: KillOptions): Promise<void> {
    const err = error === undefined ? new GreenletExit() : error;
    checkError('error', err);
    const o = checkOptions('options', options);
    const ms = checkTimeout('timeout', o.timeout);
    if (this.isMain) throw new TypeError('The main greenlet cannot be killed');
    if (this.state === State.Dead) return RESOLVED;
    if (this.state === State.Created || this.state === State.Scheduled) {
      // Killed before it ran: it never runs.
      const r = this._rare;
      if (r.laterTimer !== null) clearTimer(r.laterTimer);
      if (this.state === State.Created) hub.register(this);
      r.killed = err;
      this._finish(false, err);
      return RESOLVED;
    }
    const rare = this._rare;
    rare.killed = err;
    // The hub's clock (as ops' starts): IO begun from now on is the unwinding's (abandonKilled).
    rare.killedAt = hub.exactNow();
    if (hub.currentCore() === this) return Promise.reject(err); // gevent raises it right here
    // Delivered to an op (a callback called with the error, a socket destroyed): the code
    // that handles it may take a few turns to unwind (a library's error path), as for withTimeout.
    rare.killGrace = hub.interrupt(this, err, -1) ? hub.UNWIND_GRACE_TURNS : 0;
    hub.watchAbandon(this);
    if (o.block === false) return RESOLVED;
    return this.join(ms);
  }

  /** Call `cb(greenlet)` once it is dead, asynchronously (even if already dead). */
  link(cb: (g: this) => unknown): void {
    this.#addLink(cb, 0);
  }
  /** Like `link`, only if it succeeds. */
  linkValue(cb: (g: this) => unknown): void {
    this.#addLink(cb, 1);
  }
  /** Like `link`, only if it fails. */
  linkException(cb: (g: this) => unknown): void {
    this.#addLink(cb, 2);
  }
  /** Remove every link of `cb` not run yet (also while its links run: gevent's rule). */
  unlink(cb: (g: this) => unknown): void {
    (this.x as GreenletRare | null)?.links?.remove(cb as (g: Greenlet) => unknown);
  }

  #addLink(cb: unknown, mode: LinkMode): void {
    checkFunction('callback', cb);
    this._bits |= OBSERVED;
    const links = (this._rare.links ??= new Links<Greenlet>());
    if (this.state === State.Dead) links.fire(this, (this._bits & FAILED) === 0, mode, cb as (g: Greenlet) => unknown);
    else links.add(cb as (g: Greenlet) => unknown, mode);
  }

  /** @internal */
  [kAddWatcher](w: Watcher): void {
    this._bits |= OBSERVED;
    if (this.state === State.Dead) w.onReady(this);
    else this._watch(w);
  }
  /** @internal */
  [kRemoveWatcher](w: Watcher): void {
    this._unwatch(w);
  }

  /** @internal */
  _watch(w: AnyOp | Watcher): void {
    this._w = slotAdd(this._w, w);
  }
  /** @internal */
  _unwatch(w: AnyOp | Watcher): void {
    this._w = slotRemove(this._w, w);
  }

  /** @internal Record the outcome, once; notify joiners now and links soon. */
  _finish(ok: boolean, v: unknown): void {
    if (this.state === State.Dead) return; // abandoned earlier: nothing changes its outcome
    const threw = !ok;
    if (!ok) v = unwrapOwnError(v, this);
    if (!ok && (v instanceof GreenletExit || isQuietTimeoutOf(v, this))) {
      ok = true;
      if (!(v instanceof GreenletExit)) v = undefined;
    }
    this.state = State.Dead;
    this._result = v;
    if (!ok) this._bits |= FAILED;
    hub.unregister(this);
    const r = this.x as GreenletRare | null;
    // Died of a kill or an error: nothing it registered may call back after its death,
    // nothing it opened stays open, and what still runs in its context (a library's
    // retry, a promise chain it did not await) gets that error from any greenio wait or
    // patched IO. (Returning normally keeps a server or an interval it started running.)
    if (threw || (r !== null && r.killed !== null)) {
      const err = r?.killed ?? (v instanceof Error ? v : new GreenletExit('greenlet failed'));
      this.rare().exitError = err;
      hub.releaseAll(this, err);
    }
    if (endChannel.hasSubscribers) endChannel.publish({ greenlet: this, ok, value: v });
    const w = this._w;
    if (w !== null) {
      this._w = null;
      if (Array.isArray(w)) for (let i = 0; i < w.length; i++) notifyWatcher(w[i]!, this);
      else notifyWatcher(w, this);
    }
    r?.links?.fireAll(this, ok);
    if (!ok && (this._bits & OBSERVED) === 0) originalSetImmediate(reportUnobserved, this);
  }

  /** `<Greenlet-3 "fetch" dead>` for logs. */
  override toString(): string {
    const fn = this.fnName ? ` ${this.fnName}` : '';
    const st = ['created', 'scheduled', 'running', 'dead'][this.state];
    return `<Greenlet ${this.name}${fn} ${st}>`;
  }
}

let mainPending = true;
const NO_ARGS: readonly unknown[] = Object.freeze([]);

/** The rare fields of a greenlet (see hub/ops.ts `Rare`). @internal */
class GreenletRare extends Rare {
  name: string | undefined = undefined;
  gate: Promise<void> | undefined = undefined;
  open: (() => void) | null = null;
  links: Links<Greenlet> | null = null;
  laterTimer: ReturnType<typeof setTimeout> | null = null;
  spawnStack: string | undefined = undefined;
  /** `performance.now()` of its (last) kill. */
  killedAt = 0;
  /** Loop turns left before a killed greenlet with nothing greenio sees in flight is abandoned. */
  killGrace = 0;
}

/** The main greenlet: code outside any spawned greenlet. It cannot be killed. */
class MainGreenlet extends Greenlet<never> {
  constructor() {
    super(null as never);
  }
}
/** @internal The main greenlet, the hub's `main` (configured below). */
export const mainGreenlet: Greenlet = new MainGreenlet();
mainPending = false;

/** The hub calls this on a later turn when the killed `g` has no greenio wait left. */
function abandonKilled(g: hub.Core): void {
  const r = g.x;
  if (g.state === State.Dead || g.waitCount > 0 || r === null || r.killed === null) return;
  const gr = r as GreenletRare;
  // Still unwinding through IO greenio sees (begun since the kill): asked again when it ends.
  if (hub.busyWithin(g, gr.killedAt)) return;
  if (gr.killGrace > 0) {
    gr.killGrace--;
    hub.scheduleAbandonCheck(g);
    return;
  }
  r.abandoned = true;
  hub.abandonCounts.kills++;
  (g as Greenlet)._finish(false, r.killed);
  // Said on the next turn: finding the site reads the inspector (slow the first time).
  originalSetImmediate(reportAbandonedKill, g, (g as Greenlet)._fn, (g as Greenlet).fnName, (r as GreenletRare).killedAt);
}

// The hub's one configuration, made here because this module owns the main greenlet
// and every entry (index.ts, monkey.ts, the preload) loads it before any greenio wait.
hub.configure({
  main: mainGreenlet,
  abandonKilled,
  // A blocking call's own `{ timeout }` throws a TimeoutError naming an internal Timeout.
  timeoutError: (ms) => new TimeoutError(new Timeout(ms)),
});

function startLaterNow(g: Greenlet): void {
  g._rare.laterTimer = null;
  g.start();
}

function reportUnobserved(g: Greenlet): void {
  if ((g._bits & OBSERVED) !== 0) return;
  g._bits |= OBSERVED;
  reportUnjoined(g.name, g.fnName, g.exception);
}

/**
 * Create and start a greenlet running `fn(...args)`. It starts after the caller's
 * current synchronous run, never inside `spawn()`.
 * @example
 * import { spawn, joinAll } from 'greenio';
 * const gs = [1, 2, 3].map((n) => spawn(async (x: number) => x * 2, n));
 * await joinAll(gs);
 * console.log(gs.map((g) => g.value)); // [2, 4, 6]
 */
export function spawn<A extends unknown[], T>(fn: (...args: A) => T | Promise<T>, ...args: A): Greenlet<Awaited<T>> {
  checkFunction('fn', fn);
  const g = greenletToStart(fn as unknown as (...a: never[]) => Awaited<T>, ...args) as Greenlet<Awaited<T>>;
  g.start();
  return g;
}

/**
 * @internal A greenlet made as `spawn()` makes one, not started: it takes the context of
 * whoever calls `start()`, not its creator's (no captured context: one promise and one
 * context frame fewer than `new Greenlet`). For code that creates and starts it in the same
 * async function (greenio's BullMQ worker), where the two contexts are the same.
 */
export function greenletToStart<T>(fn: (...args: never[]) => T | Promise<T>, ...args: unknown[]): Greenlet<Awaited<T>> {
  spawning = true;
  try {
    return new Greenlet<Awaited<T>>(fn as unknown as (...a: never[]) => Awaited<T>, ...args);
  } finally {
    spawning = false;
  }
}

/** Create a greenlet and start it after `ms` milliseconds. */
export function spawnLater<A extends unknown[], T>(ms: number, fn: (...args: A) => T | Promise<T>, ...args: A): Greenlet<Awaited<T>> {
  checkMs('ms', ms);
  checkFunction('fn', fn);
  const g = new Greenlet<Awaited<T>>(fn as unknown as (...a: never[]) => Awaited<T>, ...args);
  g.startLater(ms);
  return g;
}

/** The greenlet running now: the main greenlet outside any spawned one. */
export function getCurrent(): Greenlet {
  return hub.currentCore() as Greenlet;
}

/** `greenlet.kill(error, options)` as a function; checks that `greenlet` is one. */
export function kill(greenlet: Greenlet, error?: Error, options?: KillOptions): Promise<void> {
  if (!(greenlet instanceof Greenlet)) throw new TypeError(expected('greenlet', 'a Greenlet', greenlet));
  return greenlet.kill(error, options);
}

export { reportCallbackError };
