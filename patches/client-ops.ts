/**
 * What the client integrations (pg, mysql2, ioredis, node-redis) share: tracking a
 * callback-style call as an op of the current flow (unless a kill is already pending:
 * then the call does not start and its callback gets the kill on the next tick), and
 * running the client's own machinery outside any greenlet, cheaply.
 */
import { AsyncResource } from 'node:async_hooks';
import * as hub from '../src/hub/index.js';

/** The op tracking `data` for the current flow; null (and `cb` called with the pending kill) when one is pending. */
export function trackOrRefuse(kind: hub.Kind, detail: unknown, handler: hub.OpHandler, data: unknown, cb: (err: Error) => void): hub.Op | null {
  const flow = hub.currentFlow();
  const pending = hub.takePending(flow);
  if (pending !== null) {
    process.nextTick(cb, pending);
    return null;
  }
  return hub.track(kind, detail, handler, data, flow);
}

// `als.run`/`als.exit` copy the async context frame on each call (about 1 µs on Node 24
// and 26; `exit` about 3 µs on Node 20): too much for every query or command. An
// AsyncResource made once in the wanted context switches to it for ~60 ns on all three.
let outsideScope: AsyncResource | null = null;

/** A scope whose async context is `store` (undefined: outside any greenlet), made once by the caller. */
export function scopeOf(store: hub.Flow | undefined): AsyncResource {
  const make = (): AsyncResource => new AsyncResource('greenio.clientScope', { requireManualDestroy: true });
  return store === undefined ? hub.als.exit(make) : hub.als.run(store, make);
}

/**
 * `fn.apply(self, args)` outside any greenlet (as `hub.als.exit` does): what it starts
 * (a connection, a side connection, a timer) belongs to no greenlet, so no kill closes it.
 */
export function outside<R>(fn: (...a: never[]) => R, self?: unknown, ...args: unknown[]): R {
  outsideScope ??= scopeOf(undefined);
  return outsideScope.runInAsyncScope(fn as (...a: unknown[]) => R, self, ...args);
}

/**
 * A handler that also says what an interrupt leaves undone on the server (a pipeline
 * that runs whole, a query no cancel request can reach): the hub asks `note(op)` when the
 * op ends by a kill, a timeout or abandonment, and its end event carries the answer.
 */
export type NotedHandler<T = unknown> = hub.OpHandler<T> & { note?(op: hub.Op<T>): string | undefined };

/** The note of an op an interrupt could not stop on the server, `why` it could not. */
export function notCancelled(why: string): string {
  return `not cancelled on the server: ${why}`;
}
