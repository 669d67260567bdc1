/**
 * Abandonment and release. A timed-out flow (withTimeout) that, once pending microtasks
 * have run, is in no greenio wait awaits a promise greenio cannot see: its owner
 * abandons it, and it is dead for good. While it is in greenio waits (a `finally` that
 * sleeps) it is checked again each time one of them ends (ops.ts), as a killed greenlet
 * is. What a dead greenlet or flow still holds is released without calling its callbacks.
 */
import type { Kind } from './kinds.js';
import { ioEndChannel } from './op-channels.js';
import { ABANDONED, KILLED, Op, SETTLED, expiring, finish, queueFlowCheck, scheduleAbandonCheck, type Core, type Flow, type FlowWatch } from './ops.js';

/** Flows abandoned at their deadline: their `pending` error never clears. */
export const deadFlows = new WeakSet<Flow>();

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

/** greenlet.ts calls this right after a kill to start watching for abandonment. */
export function watchAbandon(g: Core): void {
  if (g.waitCount === 0) scheduleAbandonCheck(g);
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
      finish(op, ABANDONED, err);
      op.handler?.cancel?.(op, err, true);
    }
  };
  release(flow);
  const subs = flow.greenlet.x === null ? null : flow.greenlet.x.subflows;
  if (subs !== null) for (const f of [...subs]) if (f !== flow && f.within(flow)) release(f);
}

/**
 * Publish, as an op that ended `abandoned`, the await that a kill or a timeout could
 * not reach: from `since` to now, so traces show it apart from a completed wait.
 */
export function publishAbandoned(g: Core, k: Kind, detail: unknown, since: number, error?: unknown): void {
  if (!ioEndChannel.wholeWanted) return;
  const op = new Op<unknown>(k, detail, g, null, undefined);
  (op as { since: number }).since = since;
  op.bits |= SETTLED;
  ioEndChannel.publish({ greenlet: g, op, kind: k.name, detail, durationMs: performance.now() - since, outcome: 'abandoned', error, whole: true });
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
      finish(op, outcome, err);
      op.handler?.cancel?.(op, err, true);
    }
  };
  release(g);
  const subs = g.x === null ? null : g.x.subflows;
  if (subs !== null) for (const f of [...subs]) release(f);
}
