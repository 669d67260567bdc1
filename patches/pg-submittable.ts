/**
 * pg Submittables as ops of the greenlet that submits them: a pg-cursor Cursor
 * (`pg.cursor SELECT …`, each `read()` a wait `pg.cursor.read SELECT …`), a
 * pg-query-stream QueryStream (`pg.stream SELECT …`), any other (`pg.query …`). The op
 * lasts until the client is done with it. A kill or timeout cancels the statement on the
 * server if it is executing (a cancel request, pg-query.ts) and closes the portal (the
 * Submittable's own close); a pending read rejects, a stream is destroyed with the
 * interrupt's error, a raw `new Query(text, values, cb)`'s callback gets it (once), so
 * the greenlet's await throws. Limits: an interrupted cursor is
 * closed (later reads give no rows); a stream nobody listens to is destroyed without error.
 */
import * as hub from '../src/hub/index.js';
import type { AnyFunction } from '../src/internal/wrap.js';
import { notCancelled, type NotedHandler } from './client-ops.js';
import { cancel, statementOf, whyNotCancellable, type PgClient, type Submitted } from './pg-query.js';

const K_CURSOR = hub.kind('pg.cursor');
const K_READ = hub.kind('pg.cursor.read');
const K_STREAM = hub.kind('pg.stream');
const K_QUERY = hub.kind('pg.query');

type Cb = (err: unknown, rows?: unknown) => void;
/** What a Submittable may have (pg-cursor 2, pg-query-stream 4, pg's Query). */
interface Sub {
  text?: string;
  state?: string;
  cursor?: Sub;
  _cb?: Cb | null;
  _queue?: [unknown, Cb][];
  read?: AnyFunction;
  close?: AnyFunction;
  destroy?: (err?: Error) => void;
  destroyed?: boolean;
  listenerCount?(ev: string): number;
  handleReadyForQuery?: AnyFunction;
  handleError?: AnyFunction;
  /** A pg Query's callback (`new Query(text, values, cb)`, or given to `client.query`). */
  callback?: ((err: unknown, res?: unknown) => void) | null;
}

class Tracked {
  op: hub.Op | null = null;
  closed = false;
  constructor(readonly sub: Sub, readonly s: Submitted, readonly detail: string) {}
}

function noop(): void {}

/** The Cursor doing the work: the QueryStream's own, or the Submittable itself. */
function cursorOf(t: Tracked): Sub {
  return t.sub.cursor ?? t.sub;
}

/**
 * Stop `t` on the server and in the client: a cancel request if the statement is
 * executing (an idle portal needs none: its backend waits for the next message), then
 * the Submittable's own close (close the portal, sync). Returns whether `reason` reached
 * user code (a pending read, a listened stream).
 */
function stop(t: Tracked, reason: Error | null, op: hub.AnyOp): boolean {
  if (t.closed) return false;
  t.closed = true;
  const c = cursorOf(t);
  const st = c.state;
  // Executing: a read is in flight (a cursor says 'idle' from the row description on,
  // while the server still runs the statement), or not a cursor at all; or still queued.
  if (st === undefined || c._cb != null || st === 'busy' || st === 'initialized') cancel(t.s);
  else t.s.cancelled = true;
  const sub = t.sub;
  if (typeof sub.destroy === 'function') {
    // A QueryStream: its _destroy closes the cursor; the error reaches a for-await.
    if (sub.destroyed === true) return false;
    const listened = reason !== null && (sub.listenerCount?.('error') ?? 0) > 0;
    sub.destroy(listened ? reason : undefined);
    return listened;
  }
  let handed = false;
  const qcb = sub.callback;
  if (typeof qcb === 'function' && typeof sub.read !== 'function') {
    // A raw pg Query: its callback gets the interrupt's error once, on the next tick (as
    // Node does for an AbortSignal), and the server's late 57014 goes nowhere. Called
    // through pg's own wrapper (query_timeout's), which clears its timer.
    if (reason === null) return false;
    sub.callback = noop;
    hub.tickIn(op, qcb, reason); // in the Query's caller's flow, as its answer would be
    return true;
  }
  if (reason !== null) {
    const cb = c._cb;
    c._cb = null;
    if (typeof cb === 'function') {
      handed = true;
      cb(reason);
    }
    for (const q of c._queue?.splice(0) ?? []) {
      handed = true;
      q[1].call(c, reason);
    }
  }
  if (typeof c.close === 'function' && st !== 'done' && st !== 'error') Reflect.apply(c.close, c, [noop]);
  return handed;
}

function note(op: hub.Op): string | undefined {
  const t = op.data as Tracked;
  const why = t.closed ? null : whyNotCancellable(t.s);
  return why === null ? undefined : notCancelled(why);
}

const LIFETIME: NotedHandler = {
  note,
  cancel(op, reason, silent) {
    return stop(op.data as Tracked, silent === true ? null : (reason as Error), op);
  },
};

// A read() wait: its interrupt closes the whole cursor (its statement is cancelled).
const READ: NotedHandler = {
  start(op) {
    const [t, read, rows] = op.data as [Tracked, AnyFunction, unknown];
    Reflect.apply(read, cursorOf(t), [rows, (err: unknown, r: unknown) => (err ? op.reject(err) : op.resolve(r))]);
  },
  cancel(op) {
    const [t] = op.data as [Tracked];
    stop(t, null, op);
    t.op?.end();
  },
};

/** Wrap the instance's read() (promise form in a greenlet) as a hub wait. */
function wrapRead(t: Tracked, c: Sub): void {
  const read = c.read!;
  c.read = function (this: Sub, rows: unknown, cb?: unknown) {
    if (typeof cb === 'function' || t.closed || hub.storedFlow() === undefined) return Reflect.apply(read, this, arguments);
    return hub.wait(K_READ, t.detail, READ, [t, read, rows]);
  };
}

/** Wrap `name` of the instance so the op ends when the client is done with the Submittable. */
function endOn(t: Tracked, obj: Sub, name: 'handleReadyForQuery' | 'handleError'): void {
  const f = obj[name];
  if (typeof f !== 'function') return;
  obj[name] = function (this: unknown) {
    t.op?.end();
    return Reflect.apply(f, this, arguments);
  };
}

/**
 * `client.query(submittable, ...)` through pg's `original`, with the Submittable tracked
 * as an op of the current flow. Under a pending kill it is not submitted: it fails at once
 * (a stream destroyed, a cursor's handleError) and the greenlet's next wait throws.
 */
export function querySubmittable(original: AnyFunction, client: PgClient, args: IArguments): unknown {
  const sub = args[0] as Sub;
  const isStream = typeof sub.destroy === 'function' && sub.cursor !== undefined;
  const isCursor = !isStream && typeof sub.read === 'function' && typeof sub.close === 'function';
  const kind = isStream ? K_STREAM : isCursor ? K_CURSOR : K_QUERY;
  const detail = statementOf(isStream ? sub.cursor : sub);
  const t = new Tracked(sub, { client, query: sub, done: noop, cancelled: false }, detail);
  const op = hub.begin(kind, detail, LIFETIME, t);
  if (op instanceof Error) {
    // A Query's callback given to client.query() itself, as pg would have set it.
    const cb = typeof args[1] === 'function' ? args[1] : args[2];
    if (sub.callback == null && typeof cb === 'function') sub.callback = cb as Sub['callback'];
    process.nextTick(() => {
      if (isStream) sub.destroy!(op);
      else sub.handleError?.(op);
    });
    return sub;
  }
  t.op = op;
  endOn(t, sub, 'handleReadyForQuery');
  endOn(t, sub, 'handleError');
  if (isCursor) wrapRead(t, sub);
  return Reflect.apply(original, client, args);
}
