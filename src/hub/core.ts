/**
 * The hub: greenio's one switch point. Every wait of every greenlet (sleep, join, a
 * queue, a lock, a future, a patched IO call) goes through `wait()` or `track()` here,
 * so interrupts (kill, Timeout), stats, run-info and traces are written once.
 * Limits: an interrupt lands only at a switch point (a CPU loop that never waits cannot
 * be interrupted), and a greenlet suspended on a promise greenio cannot see is not
 * unwound by a kill: greenlet.ts abandons it (see DESIGN.md).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { config } from '../internal/config.js';
import { account, type Kind } from './kinds.js';
import { switchClock } from '../internal/clock.js';
import { ioEndChannel, ioStartChannel } from './channels.js';
import {
  originalClearTimeout,
  originalSetImmediate,
  originalSetTimeout,
} from '../internal/originals.js';


// ---------------------------------------------------------------------------------
// Ops: one record per wait or tracked operation.

/**
 * How an op starts and how it is aborted. `cancel` returns `true` when it handed the
 * interrupt's error to user code (an error-first callback, a socket's `'error'`), so
 * the interrupt counts as delivered. `timeout` settles an op whose own `{ timeout }`
 * expired (the default rejects with a `TimeoutError`).
 */
export interface OpHandler<T = unknown> {
  start?(op: Op<T>): void;
  /** `silent`: the owner is dead: abort, but call no user callback (not even with `reason`). */
  cancel?(op: Op<T>, reason: Error, silent?: boolean): boolean | void;
  timeout?(op: Op<T>): void;
}

/** One wait (a promise the greenlet awaits) or tracked operation (callback IO, a handle). */
export class Op<T = unknown> {
  // Kept small on purpose: a parked greenlet holds one (see bench/parked-memory.ts).
  res: ((value: T) => void) | null = null;
  rej: ((error: unknown) => void) | null = null;
  /** Anything the handler keeps: a timer handle, a socket, an item. */
  data: unknown;
  /** SETTLED | TIMED (has its own timeout, kept in `opTimers`). */
  bits = 0;
  /** `performance.now()` when it began. */
  readonly since: number;

  constructor(
    readonly kind: Kind,
    readonly detail: unknown,
    public flow: Flow,
    readonly handler: OpHandler<T> | null,
    data: unknown,
  ) {
    this.data = data;
    this.since = switchClock.now = performance.now();
    opCount++;
  }

  /** True once completed, failed, cancelled or timed out. */
  get settled(): boolean {
    return (this.bits & SETTLED) !== 0;
  }

  /** True for a promise wait (the greenlet is blocked on it). */
  get isWait(): boolean {
    return this.res !== null;
  }

  /** Complete the op with `value`. No-op once settled (cancelled, timed out). */
  resolve(value: T): void {
    if ((this.bits & SETTLED) !== 0) return;
    if (this.res !== null && wakeMustWait()) {
      // Settled now (nothing may cancel it), woken on the next loop turn.
      this.bits |= SETTLED;
      originalSetImmediate(deferredResolve, this, value);
      return;
    }
    finish(this, ownTimeoutRunning ? TIMEOUT : OK);
    if (this.res !== null) this.res(value);
  }

  /** Fail the op with `error`. No-op once settled. */
  reject(error: unknown): void {
    if ((this.bits & SETTLED) !== 0) return;
    finish(this, ownTimeoutRunning ? TIMEOUT : ERROR);
    const rej = this.rej;
    if (rej !== null) rej(error);
  }

  /**
   * End a tracked (callback or handle) op. Returns false when it was already cancelled:
   * the caller must then drop the late result and release what it holds.
   */
  end(): boolean {
    if ((this.bits & SETTLED) !== 0) {
      this.kind.dropped++;
      return false;
    }
    finish(this, OK);
    return true;
  }
}

const SETTLED = 1;
const TIMED = 2;

/**
 * How an op ended, as `greenio:io:end` reports it: completed, failed, aborted by a kill,
 * aborted by a timeout (a Timeout's or its own), or released because its greenlet or
 * timed-out flow was abandoned or died.
 */
export type Outcome = 'ok' | 'error' | 'killed' | 'timeout' | 'abandoned';
const OK = 0;
const ERROR = 1;
const KILLED = 2;
const TIMEOUT = 3;
const ABANDONED = 4;
const OUTCOMES: readonly Outcome[] = ['ok', 'error', 'killed', 'timeout', 'abandoned'];
// Set while an op's own timeout settles it through `handler.timeout` (a join that
// resolves, a get that rejects with QueueEmpty): that end is a timeout, not a result.
let ownTimeoutRunning = false;

/** A blocking call's own timeout. */
interface OpTimer {
  handle: ReturnType<typeof setTimeout>;
  ms: number;
}
// Few ops have their own timeout: their timers live here, not in every op.
const opTimers = new Map<AnyOp, OpTimer>();

let opCount = 0;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- internal lists hold ops of any result type
export type AnyOp = Op<any>;

function deferredResolve(op: AnyOp, value: unknown): void {
  finish(op, OK);
  op.res!(value);
}


// ---------------------------------------------------------------------------------
// Flows and greenlet cores.

/**
 * A scope that ops are attributed to and interrupts are aimed at: a greenlet's root
 * flow (the greenlet itself), or a sub-flow made by `withTimeout` (or a bare `Timeout`
 * in main), so a timeout reaches only the waits of its own async flow.
 */
export class Flow {
  /** An interrupt that found nothing to interrupt: the next wait in this flow throws it. */
  pending: Error | null = null;
  /** Its ops in flight: none, one, or a Set (in order of creation). */
  ops: AnyOp | Set<AnyOp> | null = null;
  greenlet!: Core;
  /** The flow this one runs inside (null for a greenlet's root flow). */
  outer: Flow | null = null;

  static sub(outer: Flow): Flow {
    const f = new Flow();
    f.greenlet = outer.greenlet;
    f.outer = outer;
    return f;
  }

  /** True if this flow is `other` or runs inside it. */
  within(other: Flow): boolean {
    for (let f: Flow | null = this; f !== null; f = f.outer) if (f === other) return true;
    return false;
  }
}

/** Lifecycle of a greenlet core. */
export const enum State {
  Created = 0,
  Scheduled = 1,
  Running = 2,
  Dead = 3,
}

/**
 * What few greenlets need (a kill, sub-flows, a name...), kept apart so that a parked
 * greenlet stays small. greenlet.ts extends it with the public side's rare fields.
 */
export class Rare {
  /** The kill error, once it died of a kill or was abandoned: every later wait throws it. */
  exitError: Error | null = null;
  /** Set by kill(): watch for abandonment when no wait is left. */
  killed: Error | null = null;
  abandoned = false;
  /** Sub-flows that currently hold ops. */
  subflows: Set<Flow> | null = null;
  /** Flows of this greenlet abandoned at a deadline whose function has not settled since. */
  unreached: Set<Unreached> | null = null;
}

/** An abandoned flow still suspended on what greenio cannot see, for run-info. */
export interface Unreached {
  /** `performance.now()` when its await began to be unreachable (the deadline). */
  readonly since: number;
  /** `withTimeout 200 ms: fn (file:line) awaits a promise greenio cannot see`. */
  readonly what: string;
}

/**
 * The hub's part of a greenlet: identity, lifecycle, its ops, its registry slot and
 * per-kind IO totals. greenlet.ts adds the public methods (`Greenlet extends Core`).
 * @internal
 */
export class Core extends Flow {
  readonly id: number;
  state: State = State.Created;
  /** Promise waits in flight, over all flows. */
  waitCount = 0;
  /** Rare state, created on first need (see `rare()`). */
  x: Rare | null = null;
  /** IO totals: [count, ms, then per kind used: kind.index, count, totalMs, maxMs]. */
  io: number[] | null = null;
  /** When it started running, in whole ms of `performance.now()` (0 before). */
  startedAt = 0;
  rprev: Core | null = null;
  rnext: Core | null = null;

  constructor(isMain = false) {
    super();
    this.greenlet = this;
    this.id = isMain ? 0 : ++greenletSeq;
  }

  /** True for the main greenlet. */
  get isMain(): boolean {
    return this.id === 0;
  }

  /** The rare state, created now if needed. */
  rare(): Rare {
    return (this.x ??= this.makeRare());
  }

  protected makeRare(): Rare {
    return new Rare();
  }

  /** The kill error it was given (null if never killed). */
  get killed(): Error | null {
    return this.x === null ? null : this.x.killed;
  }

  /** Called by the hub when a killed greenlet has no greenio wait left. */
  protected abandonCheck(): void {}
}

let greenletSeq = 0;

/** The AsyncLocalStorage naming the current flow; undefined means the main greenlet. */
export const als = new AsyncLocalStorage<Flow>();

/**
 * The main greenlet (code outside any spawned greenlet). greenlet.ts installs one with
 * the public methods when it loads; until then a bare core stands in.
 */
export let main: Core = new Core(true);
main.state = State.Running;

/** Install the main greenlet object (once, by greenlet.ts). */
export function installMain(g: Core): void {
  g.state = State.Running;
  g.startedAt = Math.floor(performance.now());
  main = g;
}

/** The flow running now. */
export function currentFlow(): Flow {
  return als.getStore() ?? main;
}

/** The greenlet running now (the main greenlet outside any spawned one). */
export function currentCore(): Core {
  const f = als.getStore();
  return f === undefined ? main : f.greenlet;
}

// ---------------------------------------------------------------------------------
// Linking ops into flows.

function link(op: AnyOp): void {
  const flow = op.flow;
  const g = flow.greenlet;
  const cur = flow.ops;
  if (cur === null) {
    flow.ops = op;
    if (flow !== g) (g.rare().subflows ??= new Set()).add(flow);
  } else if (cur instanceof Set) {
    cur.add(op);
  } else {
    flow.ops = new Set([cur, op]);
  }
  op.kind.active++;
  if (op.res !== null) g.waitCount++;
}

function finish(op: AnyOp, outcome: number): void {
  op.bits |= SETTLED;
  const flow = op.flow;
  const g = flow.greenlet;
  const cur = flow.ops;
  if (cur === op) flow.ops = null;
  else if (cur instanceof Set && cur.delete(op) && cur.size === 0) flow.ops = null;
  if (flow.ops === null && flow !== g) g.x?.subflows?.delete(flow);
  if ((op.bits & TIMED) !== 0) {
    op.bits &= ~TIMED;
    const t = opTimers.get(op);
    opTimers.delete(op);
    if (t !== undefined) originalClearTimeout(t.handle);
  }
  const k = op.kind;
  const ms = (switchClock.now = performance.now()) - op.since;
  k.active--;
  account(k, g, ms);
  if (ioEndChannel.hasSubscribers) ioEndChannel.publish({ greenlet: g, op, kind: k.name, detail: op.detail, durationMs: ms, outcome: OUTCOMES[outcome] });
  if (op.res !== null) {
    if (--g.waitCount === 0 && g.x !== null && g.x.killed !== null && g.state !== State.Dead) scheduleAbandonCheck(g);
    if (expiring.size !== 0) waitEndedIn(flow);
  }
}

/**
 * Move a tracked op (a handle) to the current flow: a socket accepted by a server is
 * handed to the greenlet that serves it, so killing that greenlet closes it.
 */
export function adopt(op: AnyOp, to: Flow = als.getStore() ?? main): void {
  if ((op.bits & SETTLED) !== 0) return;
  if (op.flow === to) return;
  const wait = op.res !== null;
  const from = op.flow;
  const cur = from.ops;
  if (cur === op) from.ops = null;
  else if (cur instanceof Set && cur.delete(op) && cur.size === 0) from.ops = null;
  if (from.ops === null && from !== from.greenlet) from.greenlet.x?.subflows?.delete(from);
  if (wait) from.greenlet.waitCount--;
  op.flow = to;
  op.kind.active--;
  link(op);
}

// ---------------------------------------------------------------------------------
// The switch point.

let execOp: AnyOp | null = null;
function exec(res: (v: never) => void, rej: (e: unknown) => void): void {
  const op = execOp!;
  op.res = res as (v: unknown) => void;
  op.rej = rej;
}

/** The error the next wait in `flow` must throw, consumed (or the permanent exit error). */
export function takePending(flow: Flow): Error | null {
  const x = flow.greenlet.x;
  if (x !== null && x.exitError !== null) return x.exitError;
  for (let f: Flow | null = flow; f !== null; f = f.outer) {
    const e = f.pending;
    if (e !== null) {
      // An abandoned flow's error is permanent: every later wait in it throws it.
      if (!deadFlows.has(f)) f.pending = null;
      return e;
    }
  }
  return null;
}

/**
 * Wait, in the current flow, for an operation: `handler.start(op)` begins it and later
 * calls `op.resolve(v)`/`op.reject(e)`; an interrupt calls `handler.cancel(op, err)`
 * and rejects the wait. With `timeoutMs`, the op's own timeout settles it through
 * `handler.timeout(op)` (default: reject with a `TimeoutError`).
 */
export function wait<T>(k: Kind, detail: unknown, handler: OpHandler<T>, data?: unknown, timeoutMs?: number): Promise<T> {
  const flow = als.getStore() ?? main;
  const err = takePending(flow);
  if (err !== null) return Promise.reject(err);
  const op = new Op<T>(k, detail, flow, handler, data);
  execOp = op;
  const p = new Promise<T>(exec);
  execOp = null;
  link(op);
  if (ioStartChannel.hasSubscribers) ioStartChannel.publish({ greenlet: flow.greenlet, op, kind: k.name, detail });
  if (k.edge && edgeHook !== null) {
    // A wait-for edge (a lock, a join): the deadlock check may refuse it (DeadlockError).
    const refused = edgeHook(op);
    if (refused !== null) {
      op.reject(refused);
      return p;
    }
  }
  if (timeoutMs !== undefined) {
    op.bits |= TIMED;
    opTimers.set(op, { handle: originalSetTimeout(onOpTimeout, timeoutMs, op), ms: timeoutMs });
  }
  if (handler.start !== undefined) {
    try {
      handler.start(op);
    } catch (e) {
      op.reject(e);
    }
  }
  return p;
}

let edgeHook: ((op: AnyOp) => Error | null) | null = null;

/**
 * instrument/deadlock.ts installs the check run when a wait of an edge kind (`kind.edge`:
 * a lock acquire, a join) begins; an error it returns fails that wait at once.
 */
export function setEdgeHook(f: ((op: AnyOp) => Error | null) | null): void {
  edgeHook = f;
}

/** The closure form of `wait` (DESIGN.md): `start(resolve, reject)` returns how to cancel. */
export function waitFor<T>(
  k: Kind,
  detail: unknown,
  start: (resolve: (value: T) => void, reject: (error: unknown) => void) => ((reason: Error) => void) | void,
  timeoutMs?: number,
): Promise<T> {
  return wait<T>(k, detail, closureHandler as OpHandler<T>, start, timeoutMs);
}

const closureHandler: OpHandler<unknown> = {
  start(op) {
    const start = op.data as (res: (v: unknown) => void, rej: (e: unknown) => void) => ((r: Error) => void) | void;
    const cancel = start((v) => op.resolve(v), (e) => op.reject(e));
    op.data = cancel;
  },
  cancel(op, reason) {
    if (typeof op.data === 'function') (op.data as (r: Error) => void)(reason);
  },
};

/**
 * Register a callback-style operation or a handle (socket, child, server) with the
 * current flow, so an interrupt can abort it. Returns the op; call `op.end()` when it
 * completes. The caller checks `takePending()` first, to fail fast.
 */
export function track<T>(k: Kind, detail: unknown, handler: OpHandler<T>, data?: unknown, flow: Flow = als.getStore() ?? main): Op<T> {
  const op = new Op<T>(k, detail, flow, handler, data);
  link(op);
  if (ioStartChannel.hasSubscribers) ioStartChannel.publish({ greenlet: flow.greenlet, op, kind: k.name, detail });
  return op;
}

let timeoutErrorFactory: (ms: number) => Error = (ms) => new Error(`timed out after ${ms} ms`);

/** timeout.ts installs the factory of blocking calls' `TimeoutError` (it names an internal Timeout). */
export function setTimeoutErrorFactory(f: (ms: number) => Error): void {
  timeoutErrorFactory = f;
}

/** A `TimeoutError` for a blocking call's own `{ timeout }` of `ms`. */
export function ownTimeoutError(ms: number): Error {
  return timeoutErrorFactory(ms);
}

function onOpTimeout(op: AnyOp): void {
  const ms = opTimers.get(op)?.ms ?? 0;
  opTimers.delete(op);
  op.bits &= ~TIMED;
  if ((op.bits & SETTLED) !== 0) return;
  const h = op.handler;
  ownTimeoutRunning = true;
  try {
    if (h !== null && h.timeout !== undefined) {
      h.timeout(op);
      if (op.settled) return;
    }
    const err = ownTimeoutError(ms);
    h?.cancel?.(op, err);
    op.reject(err);
  } finally {
    ownTimeoutRunning = false;
  }
}

// ---------------------------------------------------------------------------------
// Interrupts.

function cancelOp(op: AnyOp, err: Error, outcome: number): boolean {
  finish(op, outcome);
  let delivered = false;
  const h = op.handler;
  if (h !== null && h.cancel !== undefined) delivered = h.cancel(op, err) === true;
  if (op.rej !== null) {
    op.rej(err);
    delivered = true;
  }
  return delivered;
}

// `since` < 0 means a kill: everything goes. Otherwise (a Timeout that started at
// `since`): waits go, handles only if created after it started, kill-only ops stay.
function cancelFlowOps(flow: Flow, err: Error, since: number): boolean {
  const cur = flow.ops;
  if (cur === null) return false;
  let delivered = false;
  for (const op of cur instanceof Set ? [...cur] : [cur]) {
    if ((op.bits & SETTLED) !== 0) continue;
    const k = op.kind;
    if (since < 0 || (!k.killOnly && (!k.resource || op.since >= since))) delivered = cancelOp(op, err, since < 0 ? KILLED : TIMEOUT) || delivered;
  }
  return delivered;
}

/**
 * Interrupt `target` (a greenlet's root flow for a kill, a timeout's flow) with `err`:
 * every wait in it and in the flows within it is cancelled and rejected, and so are
 * handles (sockets, children) created at or after `since`; `since` < 0 (a kill) aborts
 * every op, kill-only ones (plain timers) included. When nothing received the error, it
 * stays pending and the flow's next wait throws it. Returns true if delivered.
 */
export function interrupt(target: Flow, err: Error, since: number): boolean {
  const g = target.greenlet;
  let delivered = cancelFlowOps(target, err, since);
  const subs = g.x === null ? null : g.x.subflows;
  if (subs !== null && subs.size > 0) {
    for (const f of [...subs]) if (f !== target && f.within(target)) delivered = cancelFlowOps(f, err, since) || delivered;
  }
  if (!delivered) target.pending = err;
  return delivered;
}

/** Drop `err` if it is still undelivered on `flow` (a Timeout cancelled after it fired). */
export function clearPending(flow: Flow, err: Error): void {
  if (flow.pending === err && !deadFlows.has(flow)) flow.pending = null;
}

// ---------------------------------------------------------------------------------
// Abandoning a timed-out flow (withTimeout): at its deadline the flow was interrupted;
// if, once pending microtasks have run, it is in no greenio wait (it awaits a promise
// greenio cannot see), its owner abandons it. While it is in greenio waits (a `finally`
// that sleeps), it is checked again each time one of them ends, as a kill does.

/**
 * What watches an expiring flow: `abandon()` is called when the flow is in no greenio
 * wait; it returns false to be asked again on the next turn of the loop instead.
 */
export interface FlowWatch {
  abandon(): boolean;
}
const expiring = new Map<Flow, FlowWatch>();
const checkQueued = new Set<Flow>();
/** Flows abandoned at their deadline: their `pending` error never clears. */
const deadFlows = new WeakSet<Flow>();

/** Counts of what could not be reached: abandoned flows and greenlets, dropped late results. */
export const abandonCounts = { timeouts: 0, kills: 0, lateResults: 0 };

/** Watch `flow`, whose deadline passed, for abandonment (see above). */
export function watchExpiring(flow: Flow, w: FlowWatch): void {
  expiring.set(flow, w);
  queueFlowCheck(flow);
}

/** Stop watching `flow` (it finished on its own). */
export function unwatchExpiring(flow: Flow): void {
  expiring.delete(flow);
}

function queueFlowCheck(flow: Flow): void {
  if (checkQueued.has(flow)) return;
  checkQueued.add(flow);
  originalSetImmediate(runFlowCheck, flow);
}

function waitEndedIn(flow: Flow): void {
  for (let f: Flow | null = flow; f !== null; f = f.outer) if (expiring.has(f)) queueFlowCheck(f);
}

function runFlowCheck(flow: Flow): void {
  checkQueued.delete(flow);
  const w = expiring.get(flow);
  if (w === undefined || hasWaitWithin(flow)) return;
  if (w.abandon()) expiring.delete(flow);
  else queueFlowCheck(flow);
}

/** True if `flow`, or a flow running inside it, is in a greenio wait. */
export function hasWaitWithin(flow: Flow): boolean {
  const has = (f: Flow): boolean => {
    const cur = f.ops;
    if (cur === null) return false;
    if (!(cur instanceof Set)) return cur.res !== null;
    for (const op of cur) if (op.res !== null) return true;
    return false;
  };
  if (has(flow)) return true;
  const subs = flow.greenlet.x === null ? null : flow.greenlet.x.subflows;
  if (subs !== null) for (const f of subs) if (f !== flow && f.within(flow) && has(f)) return true;
  return false;
}

/**
 * Declare `flow` dead with `err`: every later greenio wait or patched IO call in it (or
 * in a flow made inside it) throws `err`, and the callback IO and handles it still owns
 * are released as for a dead greenlet, without calling its callbacks.
 */
export function abandonFlow(flow: Flow, err: Error): void {
  deadFlows.add(flow);
  flow.pending = err;
  const release = (f: Flow): void => {
    const cur = f.ops;
    if (cur === null) return;
    for (const op of cur instanceof Set ? [...cur] : [cur]) {
      if ((op.bits & SETTLED) !== 0) continue;
      finish(op, ABANDONED);
      op.handler?.cancel?.(op, err, true);
    }
  };
  release(flow);
  const subs = flow.greenlet.x === null ? null : flow.greenlet.x.subflows;
  if (subs !== null) for (const f of [...subs]) if (f !== flow && f.within(flow)) release(f);
}

/** True once `flow` (or a flow it runs inside) was abandoned. */
export function isAbandoned(flow: Flow): boolean {
  for (let f: Flow | null = flow; f !== null; f = f.outer) if (deadFlows.has(f)) return true;
  return false;
}

/**
 * Publish, as an op that ended `abandoned`, the await that a kill or a timeout could
 * not reach: from `since` to now, so traces show it apart from a completed wait.
 */
export function publishAbandoned(g: Core, k: Kind, detail: unknown, since: number): void {
  if (!ioEndChannel.hasSubscribers) return;
  const op = new Op<unknown>(k, detail, g, null, undefined);
  (op as { since: number }).since = since;
  op.bits |= SETTLED;
  ioEndChannel.publish({ greenlet: g, op, kind: k.name, detail, durationMs: performance.now() - since, outcome: 'abandoned' });
}

/**
 * A greenlet died of a kill or an error: abort what it still holds (callback IO,
 * timers, sockets, children) without calling any of its callbacks, which must never
 * run after its death. Promise waits are left to settle (only floating promises remain).
 */
export function releaseAll(g: Core, err: Error): void {
  const outcome = g.x !== null && g.x.abandoned ? ABANDONED : KILLED;
  const release = (f: Flow): void => {
    const cur = f.ops;
    if (cur === null) return;
    for (const op of cur instanceof Set ? [...cur] : [cur]) {
      if ((op.bits & SETTLED) !== 0 || op.res !== null) continue;
      finish(op, outcome);
      op.handler?.cancel?.(op, err, true);
    }
  };
  release(g);
  const subs = g.x === null ? null : g.x.subflows;
  if (subs !== null) for (const f of [...subs]) release(f);
}

/** The ops of one flow, in order of creation. */
export function opsOfFlow(f: Flow): AnyOp[] {
  const cur = f.ops;
  return cur === null ? [] : cur instanceof Set ? [...cur] : [cur];
}

/** Every op a greenlet holds now, waits first. */
export function opsOf(g: Core): AnyOp[] {
  const out: AnyOp[] = [];
  const collect = (f: Flow): void => {
    if (f.ops instanceof Set) out.push(...f.ops);
    else if (f.ops !== null) out.push(f.ops);
  };
  collect(g);
  const subs = g.x === null ? null : g.x.subflows;
  if (subs !== null) for (const f of subs) collect(f);
  out.sort((a, b) => Number(b.isWait) - Number(a.isWait) || a.since - b.since);
  return out;
}

function scheduleAbandonCheck(g: Core): void {
  originalSetImmediate(runAbandonCheck, g);
}
function runAbandonCheck(g: Core): void {
  (g as unknown as { abandonCheck(): void }).abandonCheck();
}
/** greenlet.ts calls this right after a kill to start watching for abandonment. */
export function watchAbandon(g: Core): void {
  if (g.waitCount === 0) scheduleAbandonCheck(g);
}

// ---------------------------------------------------------------------------------
// Fairness: greenlets that keep waking each other without the event loop turning
// would starve IO; past `config.switchInterval` ms, wake-ups wait for the next turn.

let wakes = 0;
let turnStart = 0;
function resetTurn(): void {
  turnStart = 0;
}

/** True when a wake-up should be deferred to the next event-loop turn. */
export function wakeMustWait(): boolean {
  if ((++wakes & 63) !== 0) return false;
  const now = performance.now();
  if (turnStart === 0) {
    turnStart = now;
    originalSetImmediate(resetTurn);
    return false;
  }
  return now - turnStart > config.switchInterval;
}

/** Monotonic count of wake-ups, for `idle()`. */
export function wakeCount(): number {
  return wakes + opCount;
}
