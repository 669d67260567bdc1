/**
 * The switch point: every wait of every greenlet (sleep, join, a queue, a lock, a
 * future, a patched IO call) goes through `wait()`, and every callback IO or handle
 * through `begin()`/`track()`, so interrupts (kill, Timeout), stats, run-info and traces
 * are written once. Limit: a greenlet suspended on a promise greenio cannot see is not
 * unwound by a kill: greenlet.ts abandons it (see DESIGN.md).
 */
import type { Kind } from './kinds.js';
import { ioStartChannel } from './op-channels.js';
import { setTimer } from '../internal/clock.js';
import { HELD, Op, OWN_TIMEOUT, SETTLED, TIMED, link, opTimers, opsBegun, setup, type AnyOp, type Flow, type OpHandler } from './ops.js';
import { als, main } from './flows.js';
import { takePending } from './interrupts.js';
import { wakesSoFar } from './fairness.js';
import { detailOwner } from './weak-detail.js';

let execOp: AnyOp | null = null;
function exec(res: (v: never) => void, rej: (e: unknown) => void): void {
  const op = execOp!;
  op.res = res as (v: unknown) => void;
  op.rej = rej;
}

/**
 * Wait, in the current flow, for an operation: `handler.start(op)` begins it and later
 * calls `op.resolve(v)`/`op.reject(e)`; an interrupt calls `handler.cancel(op, err)`
 * and rejects the wait. With `timeoutMs`, the op's own timeout settles it through
 * `handler.timeout(op)` (default: reject with a `TimeoutError`). A pending interrupt
 * (a kill, a fired Timeout) rejects it at once.
 */
export function wait<T>(k: Kind, detail: unknown, handler: OpHandler<T>, data?: unknown, timeoutMs?: number): Promise<T> {
  const flow = als.getStore() ?? main;
  const g = flow.greenlet;
  const x = g.x;
  // The common wait written out (issue 18: a Channel hand-off's or a Queue(1) round trip's
  // wait; Node 24's profile showed takePending, opened and link as calls of their own): a
  // greenlet's root flow with no op in flight and nothing pending, a spare op, no own
  // timeout, no wait-for edge. Anything else takes the general path, which does the same.
  if (flow !== g || flow.ops !== null || flow.pending !== null || (x !== null && x.exitError !== null) || timeoutMs !== undefined || k.edge || spare.length === 0) {
    return waitAny(flow, k, detail, handler, data, timeoutMs);
  }
  const op = spare.pop()!.renew(k, detail, flow, handler, data) as Op<T>;
  execOp = op;
  const p = new Promise<T>(exec);
  execOp = null;
  // `opened(op)`: link's first-op case; a wait's `res` is set, so it counts as a wait of g.
  flow.ops = op;
  k.active++;
  g.waitCount++;
  if (ioStartChannel.hasSubscribers) publishStart(op);
  if (handler.start !== undefined) {
    try {
      handler.start(op);
    } catch (e) {
      op.reject(e);
    }
  }
  return p;
}

/** `wait` in any case, in `flow` (the current one). */
function waitAny<T>(flow: Flow, k: Kind, detail: unknown, handler: OpHandler<T>, data: unknown, timeoutMs: number | undefined): Promise<T> {
  const err = takePending(flow);
  if (err !== null) return Promise.reject(err);
  const op: Op<T> = spare.length > 0 ? spare.pop()!.renew(k, detail, flow, handler, data) : new Op<T>(k, detail, flow, handler, data);
  execOp = op;
  const p = new Promise<T>(exec);
  execOp = null;
  opened(op);
  if (k.edge && edgeHook !== null) {
    // A wait-for edge (a lock, a join): the deadlock check may refuse it (DeadlockError),
    // or keep it in its graph.
    op.bits |= HELD;
    const refused = edgeHook(op);
    if (refused !== null) {
      op.reject(refused);
      return p;
    }
  }
  if (timeoutMs !== undefined) {
    op.bits |= TIMED | HELD;
    opTimers.set(op, { handle: setTimer(onOpTimeout, timeoutMs, op), ms: timeoutMs });
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

// Ops of finished hand-offs, kept for the next waits (issue 18: an op and its clock reading
// were a fifth of what a Channel hand-off allocated). Few: a hand-off has one op in flight.
const spare: AnyOp[] = [];

/**
 * A primitive is done with `op`: it took it off its wait list and resolved it (a hand-off).
 * Unless something else may still hold it (a deferred wake, a subscriber that was given it,
 * a deadlock edge, its own timer), it serves a later wait instead of a new allocation. The
 * caller must not touch `op` afterwards.
 */
export function recycle(op: AnyOp): void {
  // An op given to an `io:end` subscriber was marked HELD by `finish`.
  if ((op.bits & (HELD | SETTLED)) !== SETTLED || spare.length >= 8) return;
  op.res = null;
  op.rej = null;
  op.data = undefined;
  op.flow = main;
  spare.push(op);
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
 * Begin a callback-style operation or a handle (socket, child, server) in the current
 * flow, so an interrupt can abort it; call `op.end()` when it completes. If an interrupt
 * is pending there (a kill, a fired Timeout), no op is made and its error is returned
 * instead: the caller must not start the operation, and refuses the call with it.
 */
export function begin<T>(k: Kind, detail: unknown, handler: OpHandler<T>, data?: unknown): Op<T> | Error {
  return beginOp(k, detail, handler, data, false);
}

// Stands in for a wait's settlers until its owner sets them (adopt.ts): an op whose `res`
// is set when linked counts as a wait of its greenlet.
function unset(): void {}

/**
 * `begin`, or with `asWait` the start of a wait whose promise is not the hub's (adopt.ts:
 * the caller sets `op.res`/`op.rej` before anything can settle it).
 */
export function beginOp<T>(k: Kind, detail: unknown, handler: OpHandler<T>, data: unknown, asWait: boolean, flow: Flow = als.getStore() ?? main): Op<T> | Error {
  const err = takePending(flow);
  if (err !== null) return err;
  const op = new Op<T>(k, detail, flow, handler, data);
  if (asWait) {
    op.res = unset;
    op.rej = unset;
  }
  return opened(op);
}

// Linked into its flow and announced on `greenio:io:start`: every op begins here.
function opened<T>(op: Op<T>): Op<T> {
  link(op);
  if (ioStartChannel.hasSubscribers) publishStart(op);
  return op;
}

function publishStart(op: AnyOp): void {
  op.bits |= HELD; // a subscriber may keep it
  ioStartChannel.publish({ greenlet: op.flow.greenlet, op, kind: op.kind.name, detail: detailOwner(op.detail) });
}

/**
 * Like `begin`, without the pending-interrupt check: for what must be tracked whatever
 * is pending (a cleanup call such as `FileHandle.close`, a handle the caller already
 * checked for with `pendingInterrupt()`, a timer), in `flow` (default: the current one).
 */
export function track<T>(k: Kind, detail: unknown, handler: OpHandler<T>, data?: unknown, flow: Flow = als.getStore() ?? main): Op<T> {
  return opened(new Op<T>(k, detail, flow, handler, data));
}

/**
 * The interrupt the current flow must fail with now, consumed (null if none): for a call
 * that must not start its IO under a pending kill or Timeout, and makes its op only
 * after starting it (a promise the patch then waits on, a socket it then tracks).
 */
export function pendingInterrupt(): Error | null {
  return takePending(als.getStore() ?? main);
}

function onOpTimeout(op: AnyOp): void {
  const ms = opTimers.get(op)?.ms ?? 0;
  opTimers.delete(op);
  op.bits &= ~TIMED;
  if ((op.bits & SETTLED) !== 0) return;
  const h = op.handler;
  // Whatever settles it now (`handler.timeout`, or the cancel below) ends it as a timeout.
  op.bits |= OWN_TIMEOUT;
  if (h !== null && h.timeout !== undefined) {
    h.timeout(op);
    if (op.settled) return;
  }
  const err = setup.timeoutError(ms); // a TimeoutError (flows.ts `configure`)
  h?.cancel?.(op, err);
  op.reject(err);
}

/** Monotonic count of wake-ups and ops begun, for `idle()`. */
export function wakeCount(): number {
  return wakesSoFar() + opsBegun();
}
