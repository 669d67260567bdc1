/**
 * `sleep` and `idle`: the simplest waits, both through the hub's switch point, so kill
 * and Timeout interrupt them and leave no timer behind. `sleep(0)` yields to every
 * other ready greenlet and to IO (it waits for the next event-loop turn).
 */
import * as hub from './hub/index.js';
import type { Op, OpHandler } from './hub/index.js';
import { originalClearImmediate, originalSetImmediate } from './internal/originals.js';
import { clearTimer, setTimer, type TimerHandle } from './internal/clock.js';
import { checkMs } from './internal/validate.js';

const K_SLEEP = hub.kind('sleep');
const K_IDLE = hub.kind('idle');

function wake(op: Op<void>): void {
  op.resolve(undefined);
}

// A `sleep(0)`'s immediate has run and nothing else holds its op: the hub may reuse it for
// the next wait (issue 18: one op fewer per yield). A timer's handle may be a virtual
// clock's (greenio/testing), which could keep it: those ops are not handed back.
function wakeNow(op: Op<void>): void {
  hub.handOver(op, undefined);
}

const SLEEP: OpHandler<void> = {
  start(op) {
    const ms = op.detail as number;
    op.data = ms === 0 ? originalSetImmediate(wakeNow, op) : setTimer(wake, ms, op);
  },
  cancel(op) {
    if (op.detail === 0) originalClearImmediate(op.data as ReturnType<typeof setImmediate>);
    else clearTimer(op.data as TimerHandle);
  },
};

/**
 * Wait `ms` milliseconds (default 0: yield to other greenlets and to IO).
 * @example
 * import { sleep } from 'greenio';
 * await sleep(10);
 */
export function sleep(ms: number = 0): Promise<void> {
  checkMs('ms', ms);
  return hub.wait<void>(K_SLEEP, ms, SLEEP);
}

interface IdleState {
  seen: number;
  handle: ReturnType<typeof setImmediate> | null;
}

function idleCheck(op: Op<void>): void {
  const s = op.data as IdleState;
  const now = hub.wakeCount();
  if (now !== s.seen) {
    // Something ran since the last look: look again on the next loop turn.
    s.seen = now;
    s.handle = originalSetImmediate(idleCheck, op);
    return;
  }
  s.handle = null;
  op.resolve(undefined);
}

const IDLE: OpHandler<void> = {
  start(op) {
    const s: IdleState = { seen: hub.wakeCount(), handle: null };
    op.data = s;
    s.handle = originalSetImmediate(idleCheck, op);
  },
  cancel(op) {
    const s = op.data as IdleState;
    if (s.handle !== null) originalClearImmediate(s.handle);
  },
};

/** Resolve once the event loop has nothing else ready (no greenlet woke for a full turn). */
export function idle(): Promise<void> {
  return hub.wait<void>(K_IDLE, null, IDLE);
}
