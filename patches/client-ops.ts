/**
 * What the client integrations (pg, mysql2, ioredis, node-redis) share: tracking a
 * callback-style call as an op of the current flow (unless a kill is already pending:
 * then the call does not start and its callback gets the kill on the next tick),
 * running the client's own machinery outside any greenlet (for fs.ts and task-queues.ts
 * too), and the note of what a kill
 * leaves running on the server.
 */
import * as hub from '../src/hub/index.js';
import type { AnyFunction } from '../src/internal/wrap.js';

/** The op tracking `data` for the current flow; null (and `cb` called with the pending kill) when one is pending. */
export function trackOrRefuse(kind: hub.Kind, detail: unknown, handler: hub.OpHandler, data: unknown, cb: (err: Error) => void): hub.Op | null {
  const op = hub.begin(kind, detail, handler, data);
  if (op instanceof Error) {
    process.nextTick(cb, op);
    return null;
  }
  return op;
}

/**
 * `fn.apply(self, args)` outside any greenlet: what it starts (a connection, a side
 * connection, a timer) belongs to no greenlet, so no kill closes it. Only greenio's own
 * context changes: the user's AsyncLocalStorage stores (a trace's context) stay, so a
 * client's own tracing channels still see the caller's span. (An AsyncResource made once
 * would switch ~15x faster on Node 24/26, but it resets every store, the user's too.)
 */
export function outside<R>(fn: (...a: never[]) => R, self?: unknown, ...args: unknown[]): R {
  return hub.outside(Reflect.apply, fn, self, args) as R;
}

/**
 * A wrapper maker: `original` always run outside any greenlet (see `outside`), so the IO
 * it starts and its callbacks (which may start more: a stream's next chunk, a queue's
 * next task) belong to no greenlet. File streams' internal methods and the run-to-end fd
 * writes (fs.ts), p-queue's `start` (task-queues.ts).
 */
export function ownedByNoGreenlet(original: AnyFunction): AnyFunction {
  return ({ own(this: unknown) {
    return hub.outside(Reflect.apply, original, this, arguments);
  } }).own;
}

/**
 * A handler that also says what an interrupt leaves undone on the server (a pipeline
 * that runs whole, a query no cancel request can reach): the hub asks `note(op)` when the
 * op ends by a kill, a timeout or abandonment, and its end event carries the answer.
 */
/**
 * A server-side cancel failed (its side connection refused, no right to KILL): the
 * statement runs on to its end and its answer is dropped. Said once per failure, as a
 * `GreenioWarning` with `code`: the server stays busy longer than the caller was told.
 * `what`: `cancel a pg query`, `KILL QUERY a mysql2 command`.
 */
export function warnNotCancelled(what: string, code: string, e: unknown): void {
  const why = e instanceof Error ? e.message : String(e);
  process.emitWarning(`greenio could not ${what} on the server (${why}): it runs to its end, its result is dropped`, { type: 'GreenioWarning', code });
}

export type NotedHandler<T = unknown> = hub.OpHandler<T> & { note?(op: hub.Op<T>): string | undefined };

/**
 * The handler of a callback-style client op (pg, mysql2): an interrupt aborts the op's
 * state (`abort`: the server-side cancel) and, as Node does for an AbortSignal, gives the
 * callback the interrupt's error once, on the next tick (never when the greenlet died
 * silently); the late result is then dropped by the op's end.
 */
export function callbackHandler<S extends { cb?: ((err: unknown) => void) | null }>(
  abort: (st: S) => void,
  note: (op: hub.Op) => string | undefined,
): NotedHandler {
  return {
    note,
    cancel(op, reason, silent) {
      const st = op.data as S;
      abort(st);
      if (silent === true) return false;
      hub.tickIn(op, st.cb!, reason);
      return true;
    },
  };
}

/** The note of an op an interrupt could not stop on the server, `why` it could not. */
export function notCancelled(why: string): string {
  return `not cancelled on the server: ${why}`;
}
