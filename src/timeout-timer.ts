/**
 * The one Node timer behind every started `Timeout` (issue 18: a timer per Timeout cost
 * an insert and an unenroll per `withTimeout`). Timeouts of the same duration sit in a
 * lane in deadline order (a linked list: start and cancel are O(1)); one timer is armed
 * for the earliest head and keeps the process alive only while a Timeout is pending.
 * Limits: deadlines are read from `performance.now()`; with a virtual clock installed
 * (greenio/testing) a Timeout takes its own timer instead (timeout.ts).
 */
import { outside } from './hub/index.js';
import { originalClearTimeout, originalSetImmediate, originalSetTimeout } from './internal/originals.js';

/** A started Timeout as the shared timer sees it (timeout.ts's `Timeout` is one). */
export interface TimedEntry {
  readonly ms: number;
  /** `performance.now()` at which it is due. */
  _deadline: number;
  _tprev: TimedEntry | null;
  _tnext: TimedEntry | null;
  /** The lane it sits in, null when not queued. */
  _lane: Lane | null;
  /** Called once when due (after it left its lane). */
  _fire(): void;
}

/** Entries of one duration, oldest (earliest deadline) first. */
interface Lane {
  readonly ms: number;
  head: TimedEntry | null;
  tail: TimedEntry | null;
}

const lanes = new Map<number, Lane>();
let lastLane: Lane | null = null;
let queued = 0;
let timer: ReturnType<typeof setTimeout> | null = null;
/** The deadline the pending wake-up (timer or immediate) is for; Infinity: none. */
let armedFor = Infinity;
let refd = false;

/** Queue `e`, due `e.ms` after `now`. */
export function enqueue(e: TimedEntry, now: number): void {
  const ms = e.ms;
  let lane = lastLane;
  if (lane === null || lane.ms !== ms) {
    lane = lanes.get(ms) ?? null;
    if (lane === null) {
      // Empty lanes are kept for reuse (a loop of withTimeout(1000) refills the same
      // one), swept when many durations have been seen.
      if (lanes.size >= 64) for (const [k, l] of lanes) if (l.head === null) lanes.delete(k);
      lane = { ms, head: null, tail: null };
      lanes.set(ms, lane);
    }
    lastLane = lane;
  }
  const deadline = now + ms;
  e._deadline = deadline;
  e._lane = lane;
  e._tnext = null;
  e._tprev = lane.tail;
  if (lane.tail === null) lane.head = e;
  else lane.tail._tnext = e;
  lane.tail = e;
  if (queued++ === 0 && timer !== null && !refd) {
    timer.ref();
    refd = true;
  }
  if (deadline < armedFor) arm(deadline, now);
}

/** Take `e` out of its lane (cancelled). The timer stays armed but lets the process exit once nothing is queued. */
export function dequeue(e: TimedEntry): void {
  const lane = e._lane;
  if (lane === null) return;
  unlink(e, lane);
  if (--queued === 0 && timer !== null && refd) {
    timer.unref();
    refd = false;
  }
}

function unlink(e: TimedEntry, lane: Lane): void {
  const p = e._tprev;
  const n = e._tnext;
  if (p === null) lane.head = n;
  else p._tnext = n;
  if (n === null) lane.tail = p;
  else n._tprev = p;
  e._tprev = e._tnext = null;
  e._lane = null;
}

function arm(deadline: number, now: number): void {
  if (timer !== null) originalClearTimeout(timer);
  // Node fires a timer after whole ms of its loop clock, which may lag performance.now():
  // a wake-up that comes early finds nothing due and re-arms for the rest.
  // Set outside any flow: a timer keeps the async context it was made in, and this one
  // must neither keep the greenlet that happened to arm it alive nor fire in its name.
  timer = outside(setShared, Math.max(1, deadline - now));
  refd = true;
  armedFor = deadline;
}

function setShared(ms: number): ReturnType<typeof setTimeout> {
  return originalSetTimeout(onTimer, ms);
}

function earliest(): TimedEntry | null {
  let best: TimedEntry | null = null;
  for (const lane of lanes.values()) {
    const h = lane.head;
    if (h !== null && (best === null || h._deadline < best._deadline)) best = h;
  }
  return best;
}

// One due Timeout per wake-up: the next due one fires from an immediate, so the promise
// reactions of the first (an inner withTimeout settling) run before it, as they did
// between two Node timers.
function onTimer(): void {
  timer = null;
  refd = false;
  armedFor = Infinity;
  const e = earliest();
  if (e === null) return;
  const now = performance.now();
  // Node's timers have whole-ms resolution: within a ms of its deadline is due.
  if (e._deadline - now >= 1) return arm(e._deadline, now);
  unlink(e, e._lane!);
  queued--;
  const next = earliest();
  if (next !== null) {
    if (next._deadline - now < 1) {
      armedFor = -Infinity;
      originalSetImmediate(onTimer);
    } else arm(next._deadline, now);
  }
  e._fire();
}

/** Queued entries (tests, leak checks). */
export function queuedTimeouts(): number {
  return queued;
}
