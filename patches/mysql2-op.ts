/**
 * One mysql2 operation as a greenio op (the mysql2 integration's core): its state, its
 * handlers (an interrupt kills the command on the server, mysql2-kill.ts), and how it
 * starts as an op of the current flow, a tracked op under the callback API or a wait
 * under the promise API. It patches nothing itself (mysql2-conn.ts, mysql2-pool.ts do).
 * Limit: a result that arrives after a cancel is dropped, never handed to anyone.
 */
import * as hub from '../src/hub/index.js';
import type { AnyFunction } from '../src/internal/wrap.js';
import { callbackHandler, notCancelled, trackOrRefuse, type NotedHandler } from './client-ops.js';
import { sqlText } from './pg-sql-text.js';
import { killCommand, whyNotKillable, type MyCmd, type MyConn, type SideFactory } from './mysql2-kill.js';

/**
 * `bypass`: set while greenio's own code calls a wrapped method (its commands are parts of
 * an op already). `promise`: set while mysql2's promise API calls the callback API (the op
 * is then a hub wait, so run-info shows the greenlet waiting on it).
 */
export const depth = { bypass: 0, promise: 0 };

export function withBypass(fn: () => void): void {
  depth.bypass++;
  try {
    fn();
  } finally {
    depth.bypass--;
  }
}

export type Cb = (err: unknown, rows?: unknown, fields?: unknown) => void;

/** One op: a command on a connection or a pool, or a wait for a pool's connection. */
export class State {
  op: hub.Op | null = null;
  cancelled = false;
  cmd: MyCmd | null = null;
  /** What the original call returned (a Command), for our wrapper to return. */
  ret: unknown = undefined;
  /** What to do with a result dropped after a cancel (a statement prepared meanwhile is closed). */
  onDrop: ((rows: unknown) => void) | null = null;
  /** Our callback for the command: drops a cancelled command's late result. */
  readonly done: Cb = (err, rows, fields) => {
    if (this.cancelled) return this.onDrop?.(rows);
    const op = this.op!;
    if (op.isWait) {
      // The promise API: its callback settles mysql2's promise; the hub op ends with it.
      if (err) op.reject(err);
      else op.resolve(undefined);
      this.cb(err, rows, fields);
    } else if (op.end()) {
      this.cb(err, rows, fields);
    }
  };

  constructor(
    readonly cb: Cb,
    readonly self: object,
    readonly original: AnyFunction,
    /** The call's first two arguments (the user's callback is the second or the third). */
    readonly a0: unknown,
    readonly a1: unknown,
    public conn: MyConn | null,
    readonly side: SideFactory | null,
    readonly runner: (st: State) => void,
  ) {}

  /** The original call's arguments with our callback in place of the user's. */
  callArgs(): unknown[] {
    return typeof this.a1 === 'function' ? [this.a0, this.done] : [this.a0, this.a1, this.done];
  }
}

/**
 * The connection `st`'s command runs on: the one it was issued on, else (a pool's query)
 * the one mysql2 started it on (a Query or Execute keeps it from its start), else null.
 */
function connOf(st: State): MyConn | null {
  return st.conn ?? (st.cmd as { _connection?: MyConn | null } | null)?._connection ?? null;
}

function abort(st: State): void {
  st.cancelled = true;
  if (st.cmd !== null && st.side !== null) killCommand(connOf(st), st.cmd, st.side, withBypass);
}

// What an interrupt leaves running on the server: a command no KILL QUERY can reach.
function note(op: hub.Op): string | undefined {
  const st = op.data as State;
  const why = st.cmd === null || st.side === null || st.cancelled ? null : whyNotKillable(connOf(st), st.cmd);
  return why === null ? undefined : notCancelled(why);
}

// A wait begun by beginWait: start() runs it; settling it settles no promise of the hub's.
const WAIT: NotedHandler = {
  note,
  cancel(op, reason) {
    const st = op.data as State;
    abort(st);
    st.cb(reason);
  },
};

// Callback style: a tracked op (client-ops.ts: the callback gets the interrupt's error once).
const TRACKED = callbackHandler<State>(abort, note);

/** Run `st` as an op of the current flow (a wait under the promise API); returns the call's result. */
export function start(kind: hub.Kind, detail: string, st: State): unknown {
  if (depth.promise > 0) {
    // The greenlet awaits mysql2's own promise: the op is a wait with no promise of the
    // hub's (no second promise and reaction per query); a kill hands its error to
    // mysql2's callback (WAIT.cancel), which rejects that promise.
    const op = hub.beginWait(kind, detail, WAIT, st);
    if (op instanceof Error) {
      process.nextTick(st.cb, op);
      return undefined;
    }
    st.op = op;
    st.runner(st);
    return st.ret;
  }
  st.op = trackOrRefuse(kind, detail, TRACKED, st, st.cb);
  if (st.op === null) return undefined;
  st.runner(st);
  return st.ret;
}

// The original call, bypassed (its commands are this op's); no closure nor array per query.
export function callOriginal(st: State): void {
  depth.bypass++;
  try {
    st.ret = typeof st.a1 === 'function' ? st.original.call(st.self, st.a0, st.done) : st.original.call(st.self, st.a0, st.a1, st.done);
  } finally {
    depth.bypass--;
  }
}

/** The op's detail: the statement as written (never its values, nor its literals). */
export function sqlOf(sql: unknown): string {
  const text = typeof sql === 'string' ? sql : sql !== null && typeof sql === 'object' ? (sql as { sql?: unknown }).sql : undefined;
  return typeof text === 'string' ? sqlText(text, 'mysql') : '';
}

/** The user's callback of a (sql, values, cb) or (sql, cb) call. */
export function userCb(values: unknown, cb: unknown): Cb | undefined {
  if (typeof values === 'function') return values as Cb;
  return typeof cb === 'function' ? (cb as Cb) : undefined;
}

/** On a command issued without a callback (the emitter form): the flow that issued it. */
export const kIssuer = Symbol('greenio.mysqlIssuer');
