/**
 * `runSoon(fn, arg)`: run a user callback asynchronously, in registration order, in the
 * main greenlet's context, with one microtask per batch. A callback that throws is
 * reported on stderr and does not stop the others (gevent's link semantics).
 */
import { NO_FLOW, als } from './flows.js';

type Callback = (arg: never) => unknown;
let fns: Callback[] = [];
let args: unknown[] = [];
let scheduled = false;

export function runSoon<A>(fn: (arg: A) => unknown, arg: A): void {
  fns.push(fn as Callback);
  args.push(arg);
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(drain);
  }
}

function drain(): void {
  als.run(NO_FLOW, drainNow); // not exit(): see outside() in flows.ts
}

function drainNow(): void {
  // Callbacks may schedule more callbacks: those join the next batch.
  const f = fns;
  const a = args;
  fns = [];
  args = [];
  scheduled = false;
  for (let i = 0; i < f.length; i++) {
    try {
      (f[i] as (x: unknown) => unknown)(a[i]);
    } catch (e) {
      reportCallbackError(f[i] as { name?: string }, e);
    }
  }
}

/** Print an error thrown by a user callback greenio ran (never rethrown: it would crash the loop). */
export function reportCallbackError(fn: { name?: string }, e: unknown): void {
  const what = fn.name ? `callback ${fn.name}()` : 'a callback';
  const detail = e instanceof Error ? (e.stack ?? String(e)) : String(e);
  process.stderr.write(`greenio: ${what} threw: ${detail}\n`);
}
