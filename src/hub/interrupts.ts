/**
 * Interrupts (a kill, a fired Timeout): every op of the target flow and of the flows
 * within it is cancelled and its wait rejected with the interrupt's error; an interrupt
 * that reached nothing stays pending and the flow's next wait throws it. Limit: it
 * lands only at a switch point; a CPU loop that never waits is not interrupted.
 */
import { KILLED, SETTLED, TIMEOUT, finish, type AnyOp, type Flow } from './ops.js';
import { deadFlows } from './abandon.js';

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

function cancelOp(op: AnyOp, err: Error, outcome: number): boolean {
  finish(op, outcome, err);
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
