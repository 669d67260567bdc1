/**
 * How a started greenlet begins: its first promise reaction, in its own context, calls its
 * function and arranges for its end (greenlet.ts uses these). Limit: a greenlet begins
 * after the starter's synchronous run, never inside `spawn()`/`start()`.
 */
import * as hub from './hub/index.js';
import { State } from './hub/index.js';
import { startChannel } from './hub/index.js';
import { greenletTracing, traceGreenletRun } from './hub/index.js'; // tracing:greenio.greenlet (hub/channels.ts)

/** What beginning uses of a greenlet (greenlet.ts `Greenlet`), named structurally: this file sits below it. */
interface Startable extends hub.Core {
  readonly _fn: ((...args: never[]) => unknown) | null;
  readonly args: readonly unknown[];
  _nextBegin: Startable | null;
  _finish(ok: boolean, v: unknown): void;
}

const RESOLVED: Promise<void> = Promise.resolve();

// Called inside `hub.runIn(g, ...)` where the greenlet was created, so every promise
// reaction below (and so the whole body) runs in the greenlet's context. Plain promise
// reactions rather than an async function: a parked greenlet then holds two small
// closures instead of a suspended generator with its registers (bench/parked-memory.ts).
export function runGreenlet(g: Startable): void {
  const gate = (g.x as { gate?: Promise<void> } | null)?.gate ?? RESOLVED;
  void gate.then(beginCurrent);
}

// A promise reaction runs in the context it was registered in, here the greenlet's (see
// runGreenlet), so the current core names it: no closure per greenlet (issue 18).
function beginCurrent(): void {
  beginGreenlet(hub.currentCore() as Startable);
}
// Started greenlets whose first reaction has not run yet, in start order (a list through
// the greenlets): reactions on a settled promise run in the order they were registered,
// so each `beginNext` takes its own.
let beginHead: Startable | null = null;
let beginTail: Startable | null = null;

/** Begin `g` on a reaction registered now, in the starter's context (once `hub.enterInJobReady()`). */
export function queueBegin(g: Startable): void {
  if (beginTail === null) beginHead = g;
  else beginTail._nextBegin = g;
  beginTail = g;
  void RESOLVED.then(beginNext);
}
function beginNext(): void {
  const g = beginHead!;
  beginHead = g._nextBegin;
  if (beginHead === null) beginTail = null;
  g._nextBegin = null;
  hub.enterInJob(g); // this reaction runs in the starter's context: the greenlet's is that plus itself
  beginGreenlet(g);
}
function endedOk(v: unknown): void {
  (hub.currentCore() as Startable)._finish(true, v);
}
function endedWith(e: unknown): void {
  (hub.currentCore() as Startable)._finish(false, e);
}

function beginGreenlet(g: Startable): void {
  if (g.state !== State.Scheduled) return; // killed before it ran
  g.state = State.Running;
  g.startedAt = Math.floor(performance.now());
  if (startChannel.hasSubscribers) startChannel.publish({ greenlet: g });
  let r: unknown;
  try {
    const fn = g._fn!; // called as a plain function: `this` is undefined, as for any call
    r = greenletTracing.hasSubscribers ? traceGreenletRun(g, fn, g.args) : fn(...(g.args as never[]));
  } catch (e) {
    g._finish(false, e);
    return;
  }
  if (r !== null && (typeof r === 'object' || typeof r === 'function') && typeof (r as PromiseLike<unknown>).then === 'function') {
    // Registered in the greenlet's context, as runGreenlet's: endedOk/endedWith find it there.
    Promise.resolve(r).then(endedOk, endedWith);
  } else {
    g._finish(true, r);
  }
}

