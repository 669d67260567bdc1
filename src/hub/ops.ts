/**
 * The hub's records: an `Op` (one wait or tracked operation), the `Flow` it belongs to
 * and the greenlet `Core` owning that flow, with how an op is linked into its flow and
 * finished (accounted, published, unlinked). Op, Flow and Core refer to each other, so
 * they live together; the switch point, interrupts and abandonment build on them.
 * Limit: what runs when a killed greenlet or an expiring flow has no wait left is
 * decided above (abandon.ts, flows.ts `configure`); this file only notices the moment.
 */
import { account, type Kind } from './kinds.js';
import { clearTimer, switchClock } from '../internal/clock.js';
import { ioEndChannel } from './op-channels.js';
import { detailOwner } from './weak-detail.js';
import { originalSetImmediate } from '../internal/originals.js';
import { wakeMustWait } from './fairness.js';
import { FlowSet } from './flowset.js';
import { OpList } from './oplist.js';
import { exactNow, hubNow } from './turnclock.js';

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
  /**
   * Asked when the op ends by a kill, a timeout or abandonment, before `cancel`: what the
   * interrupt cannot undo (`not cancelled on the server: a pipeline runs whole`), carried
   * by its end event as `note`.
   */
  note?(op: Op<T>): string | undefined;
}

/** One wait (a promise the greenlet awaits) or tracked operation (callback IO, a handle). */
export class Op<T = unknown> {
  // Kept small on purpose: a parked greenlet holds one (see bench/parked-memory.ts).
  res: ((value: T) => void) | null = null;
  rej: ((error: unknown) => void) | null = null;
  /** Anything the handler keeps: a timer handle, a socket, an item. */
  data: unknown;
  /** SETTLED | TIMED (has its own timeout, kept in `opTimers`) | OWN_TIMEOUT. */
  bits = 0;
  /** `performance.now()` when it began. */
  readonly since: number;
  /** Its neighbours in its flow's `OpList` (null when it is the flow's only op or ended). */
  lprev: AnyOp | null = null;
  lnext: AnyOp | null = null;

  constructor(
    readonly kind: Kind,
    readonly detail: unknown,
    public flow: Flow,
    readonly handler: OpHandler<T> | null,
    data: unknown,
  ) {
    this.data = data;
    this.since = switchClock.now = kind.resource ? exactNow() : hubNow();
    opCount++;
  }

  /**
   * Make a finished op a new one (switch.ts reuses a hand-off's op: see `recycle` there):
   * the same fields the constructor sets, so the object keeps its shape.
   */
  renew(kind: Kind, detail: unknown, flow: Flow, handler: OpHandler<T> | null, data: unknown): this {
    const m = this as { -readonly [K in keyof Op<T>]: Op<T>[K] };
    m.kind = kind;
    m.detail = detail;
    this.flow = flow;
    m.handler = handler;
    this.data = data;
    this.bits = 0;
    m.since = switchClock.now = kind.resource ? exactNow() : hubNow();
    opCount++;
    return this;
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
    const bits = this.bits;
    if ((bits & SETTLED) !== 0) return;
    if (this.res !== null && wakeMustWait()) {
      // Settled now (nothing may cancel it), woken on the next loop turn: held till then.
      this.bits = bits | SETTLED | HELD;
      originalSetImmediate(deferredResolve, this, value);
      return;
    }
    finish(this, (bits & OWN_TIMEOUT) !== 0 ? TIMEOUT : OK);
    if (this.res !== null) this.res(value);
  }

  /** Fail the op with `error`. No-op once settled. */
  reject(error: unknown): void {
    const bits = this.bits;
    if ((bits & SETTLED) !== 0) return;
    finish(this, (bits & OWN_TIMEOUT) !== 0 ? TIMEOUT : ERROR, error);
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

export const SETTLED = 1;
export const TIMED = 2;
/** Set while its own timeout settles it through `handler.timeout`: that end is a timeout, not a result. */
export const OWN_TIMEOUT = 4;
/** Referenced beyond the hub's records and its primitive's list (a deferred wake, a subscriber): never reused. */
export const HELD = 8;

/**
 * How an op ended, as `greenio:io:end` reports it: completed, failed, aborted by a kill,
 * aborted by a timeout (a Timeout's or its own), or released because its greenlet or
 * timed-out flow was abandoned or died.
 */
export type Outcome = 'ok' | 'error' | 'killed' | 'timeout' | 'abandoned';
export const OK = 0;
const ERROR = 1;
export const KILLED = 2;
export const TIMEOUT = 3;
export const ABANDONED = 4;
const OUTCOMES: readonly Outcome[] = ['ok', 'error', 'killed', 'timeout', 'abandoned'];

/** A blocking call's own timeout: few ops have one, so their timers live here, not in every op. */
export const opTimers = new Map<AnyOp, { handle: ReturnType<typeof setTimeout>; ms: number }>();

let opCount = 0;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- internal lists hold ops of any result type
export type AnyOp = Op<any>;

function deferredResolve(op: AnyOp, value: unknown): void {
  finish(op, OK);
  op.res!(value);
}

/** Monotonic count of ops begun (switch.ts `wakeCount` adds the wake-ups, for `idle()`). */
export function opsBegun(): number {
  return opCount;
}

// ---------------------------------------------------------------------------------
// Flows and greenlet cores.

/**
 * A scope that ops are attributed to and interrupts are aimed at: a greenlet's root
 * flow (the greenlet itself), or a sub-flow made by `withTimeout` (or a bare `Timeout`
 * in main), so a timeout reaches only the waits of its own async flow. Public only as
 * `Greenlet`'s base, with no member (each is greenio's own, stripped from the .d.ts).
 */
export class Flow {
  /** @internal An interrupt that found nothing to interrupt: the next wait in this flow throws it. */
  pending: Error | null = null;
  /** @internal Its ops in flight: none, one, or a Set (an `OpList`, in order of creation). */
  ops: AnyOp | Set<AnyOp> | null = null;
  /** @internal */
  greenlet!: Core;
  /** @internal The flow this one runs inside (null for a greenlet's root flow). */
  outer: Flow | null = null;

  /** @internal */
  static sub(outer: Flow): Flow {
    const f = new SubFlow();
    f.greenlet = outer.greenlet;
    f.outer = outer;
    return f;
  }

  /** @internal True if this flow is `other` or runs inside it. */
  within(other: Flow): boolean {
    for (let f: Flow | null = this; f !== null; f = f.outer) if (f === other) return true;
    return false;
  }
}

/** @internal A flow made by `Flow.sub` (withTimeout, a bare Timeout in main), linked into its greenlet's `subflows`. */
export class SubFlow extends Flow {
  /** @internal */
  snext: SubFlow | null = null;
  /** @internal */
  sprev: SubFlow | null = null;
  /** @internal */
  sin = false;
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
  /** @internal Sub-flows that currently hold ops (SubFlow is greenio's own: not in the published types). */
  subflows: FlowSet<SubFlow> | null = null;
  /** Flows of this greenlet abandoned at a deadline whose function has not settled since. */
  unreached: Set<Unreached> | null = null;
  /** Timeouts started, not yet cancelled or fired, aimed at its own flow (a pool worker retires with one left). */
  timeouts = 0;
  /** The error of its last quiet Timeout (`error: false`) that fired: a library may have copied it (greenlet-end.ts). */
  quietFired: Error | null = null;
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
 * Public only as `Greenlet`'s base, with its `id`: every other member is greenio's own
 * (stripped from the published .d.ts).
 */
export class Core extends Flow {
  readonly id: number;
  /** @internal */
  state: State = State.Created;
  /** @internal Promise waits in flight, over all flows. */
  waitCount = 0;
  /** @internal Rare state, created on first need (see `rare()`). */
  x: Rare | null = null;
  /** @internal IO totals: [count, ms, then per kind used: kind.index, count, totalMs, maxMs]. */
  io: number[] | null = null;
  /** @internal When it started running, in whole ms of `performance.now()` (0 before). */
  startedAt = 0;
  /** @internal */
  rprev: Core | null = null;
  /** @internal */
  rnext: Core | null = null;

  /** @internal */
  constructor(isMain = false) {
    super();
    this.greenlet = this;
    this.id = isMain ? 0 : ++greenletSeq;
  }

  /** @internal True for the main greenlet. */
  get isMain(): boolean {
    return this.id === 0;
  }

  /** @internal The rare state, created now if needed. */
  rare(): Rare {
    return (this.x ??= this.makeRare());
  }

  /** @internal */
  protected makeRare(): Rare {
    return new Rare();
  }

  /** @internal The kill error it was given (null if never killed). */
  get killed(): Error | null {
    return this.x === null ? null : this.x.killed;
  }
}

let greenletSeq = 0;

// ---------------------------------------------------------------------------------
// Linking ops into flows, and finishing them.

export function link(op: AnyOp): void {
  const flow = op.flow;
  const g = flow.greenlet;
  const cur = flow.ops;
  if (cur === null) {
    flow.ops = op;
    if (flow !== g) (g.rare().subflows ??= new FlowSet()).add(flow as SubFlow);
  } else if (cur instanceof Set) {
    cur.add(op);
  } else {
    flow.ops = new OpList<AnyOp>(cur, op);
  }
  op.kind.active++;
  if (op.res !== null) g.waitCount++;
}

/** Take `op` out of its flow without ending it (adopt() moves it to another flow). */
export function unlink(op: AnyOp): void {
  const from = op.flow;
  const cur = from.ops;
  if (cur === op) from.ops = null;
  else if (cur instanceof Set && cur.delete(op) && cur.size === 0) from.ops = null;
  if (from.ops === null && from !== from.greenlet) from.greenlet.x?.subflows?.delete(from as SubFlow);
}

/**
 * Settle `op` with `outcome` (OK...ABANDONED): unlink, account, publish, clear its timer.
 * `error`: what it failed with (its rejection, the interrupt's error), for its end event.
 */
export function finish(op: AnyOp, outcome: number, error?: unknown): void {
  op.bits |= SETTLED;
  const flow = op.flow;
  const g = flow.greenlet;
  const cur = flow.ops;
  if (cur === op) flow.ops = null;
  else if (cur instanceof Set && cur.delete(op) && cur.size === 0) flow.ops = null;
  if (flow.ops === null && flow !== g) g.x?.subflows?.delete(flow as SubFlow);
  if ((op.bits & TIMED) !== 0) {
    op.bits &= ~TIMED;
    const t = opTimers.get(op);
    opTimers.delete(op);
    if (t !== undefined) clearTimer(t.handle);
  }
  const k = op.kind;
  const ms = (switchClock.now = hubNow()) - op.since;
  k.active--;
  account(k, g, ms);
  if (ioEndChannel.hasSubscribers) {
    op.bits |= HELD; // the subscriber may keep it: never reused (switch.ts `recycle`)
    // A client op an interrupt could not stop on the server says so (patches/client-ops.ts).
    const note = outcome >= KILLED ? op.handler?.note?.(op) : undefined;
    ioEndChannel.publish({ greenlet: g, op, kind: k.name, detail: detailOwner(op.detail), durationMs: ms, outcome: OUTCOMES[outcome], note, error });
  }
  // A killed greenlet or an expiring flow is asked again whenever one of its ops ends: a
  // wait, or IO its unwinding began (a ROLLBACK a library sends on the kill's error).
  if (op.res !== null) {
    if (--g.waitCount === 0 && g.x !== null && g.x.killed !== null && g.state !== State.Dead) scheduleAbandonCheck(g);
  } else if (g.x !== null && g.x.killed !== null && g.state !== State.Dead) {
    scheduleAbandonCheck(g);
  }
  if (expiring.size !== 0) waitEndedIn(flow);
}

// ---------------------------------------------------------------------------------
// Noticing when a killed greenlet or an expiring flow has no greenio wait left: the
// moment it may be abandoned (what is then done is decided in flows.ts and abandon.ts).

/**
 * What the hub is told at start (flows.ts `configure`) and calls from here: abandon a
 * killed greenlet with no wait left (greenlet.ts), the error of an op's own timeout.
 */
export const setup = {
  abandonKilled: (_g: Core): void => {},
  timeoutError: (ms: number): Error => new Error(`timed out after ${ms} ms`),
};

// Once per greenlet and turn: a kill's grace is counted in turns (greenlet.ts).
const abandonQueued = new Set<Core>();
/** Ask, on the next turn, whether the killed `g` must be abandoned (it has no wait left). */
export function scheduleAbandonCheck(g: Core): void {
  if (abandonQueued.has(g)) return;
  abandonQueued.add(g);
  originalSetImmediate(runAbandonCheck, g);
}
function runAbandonCheck(g: Core): void {
  abandonQueued.delete(g);
  setup.abandonKilled(g);
}

/**
 * What watches an expiring flow: `abandon()` is called when the flow is in no greenio
 * wait; it returns false to be asked again on the next turn of the loop instead.
 */
export interface FlowWatch {
  abandon(): boolean;
  /** When the deadline fired (`exactNow()`): IO the flow began since is its unwinding's. */
  readonly since: number;
}
/**
 * Loop turns an interrupt that reached an op (a callback called with its error, a socket
 * destroyed) leaves the code handling it to unwind (a 'close' event, a library's error
 * path) before its greenlet or flow is given up: for kills and withTimeout alike.
 */
export const UNWIND_GRACE_TURNS = 3;
/** Flows past their deadline (withTimeout), watched until they have no wait left. */
export const expiring = new Map<Flow, FlowWatch>();
const checkQueued = new Set<Flow>();

/** Check `flow` for abandonment on the next turn of the loop (once per turn). */
export function queueFlowCheck(flow: Flow): void {
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
  if (w === undefined || busyWithin(flow, w.since)) return;
  if (w.abandon()) expiring.delete(flow);
  else queueFlowCheck(flow);
}

/**
 * True if `flow`, or a flow running inside it, is in a greenio wait, or has an operation in
 * flight that it began at or after `since` (an interrupt's time): the IO of its unwinding,
 * such as the ROLLBACK a library sends when a query of its transaction failed with the
 * kill. Not ops begun before (a Timeout leaves older sockets alone), nor handles and
 * timers, which may live on for good (a socket, an interval).
 */
export function busyWithin(flow: Flow, since: number): boolean {
  const busy = (op: AnyOp): boolean => op.res !== null || (op.since >= since && !op.kind.resource && !op.kind.killOnly);
  const has = (f: Flow): boolean => {
    const cur = f.ops;
    if (cur === null) return false;
    if (!(cur instanceof Set)) return busy(cur);
    for (const op of cur) if (busy(op)) return true;
    return false;
  };
  if (has(flow)) return true;
  const subs = flow.greenlet.x === null ? null : flow.greenlet.x.subflows;
  if (subs !== null) for (const f of subs) if (f !== flow && f.within(flow) && has(f)) return true;
  return false;
}
