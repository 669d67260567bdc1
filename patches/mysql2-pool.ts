/**
 * The mysql2 integration on a pool: `query` and `execute` are one op each (the wait for
 * a connection included, then the command on it), `getConnection` a wait of its own. A
 * connection the pool opens meanwhile is the pool's, never the caller's; a connection
 * handed over after its greenlet gave up goes back to the pool. Limit: a callback-less
 * `pool.execute` is no op (mysql2 runs it through a connection's own `execute`).
 */
import * as hub from '../src/hub/index.js';
import type { AnyFunction } from '../src/internal/wrap.js';
import { outside } from './client-ops.js';
import type { MyCmd, MyConn, SideFactory } from './mysql2-kill.js';
import { callOriginal, depth, kIssuer, sqlOf, start, State, userCb, withBypass, type Cb } from './mysql2-op.js';
import { K_EXECUTE, K_QUERY } from './mysql2-conn.js';

const K_CONNECT = hub.kind('mysql.connect');

type Pool = { getConnection(cb: (err: unknown, conn?: MyConn & { release(): void }) => void): void };

/** mysql2's pool fields getConnection decides by (lib/base/pool.js). */
interface PoolFields {
  _closed?: unknown;
  _freeConnections?: { length?: unknown };
  _allConnections?: { length?: unknown };
  config?: { connectionLimit?: unknown };
}

/** Whether `getConnection` on `pool` may open a connection now (true when unsure). */
function mayOpen(pool: PoolFields): boolean {
  const free = pool._freeConnections?.length;
  const all = pool._allConnections?.length;
  const limit = pool.config?.connectionLimit;
  if (typeof free !== 'number' || typeof all !== 'number' || typeof limit !== 'number') return true;
  return pool._closed !== true && free === 0 && (limit === 0 || all < limit);
}

// No greenlet's flow: what a call run in it starts belongs to nobody (hub.outside's
// meaning). Not hub.outside itself on the hot path: on Node 20 AsyncLocalStorage.exit()
// disables the storage and enables it again, so with greenio's the only one it turns the
// process's async hooks off and on at every call (a pool query cost ~2x the CPU);
// run(undefined) only sets the store.
const NOBODY = undefined as unknown as hub.Flow;

function runPoolQuery(st: State): void {
  // The pool's wait for a connection is part of this op, not one of its own (a second
  // op per query): a cancel before the connection comes marks the command not to start
  // (mysql2-kill.ts), and the pool gets the connection back. Outside the greenlet, as
  // `getConnection`, when the pool may open a connection for it (the connection is then
  // the pool's); else in place: a free connection or a queued wait is handed over on a
  // later tick and opens nothing, and on Node 24+ each run() copies the context (~0.7 KB).
  if (mayOpen(st.self as PoolFields)) hub.runIn(NOBODY, callOriginal, st);
  else callOriginal(st);
  st.cmd = st.ret as MyCmd; // the Query keeps the connection it starts on (mysql2-op.ts connOf)
}

export function poolQuery(side: SideFactory) {
  return (original: AnyFunction): AnyFunction => ({ query(this: Pool, sql: unknown, values: unknown, cb: unknown) {
    // mysql2's pool.query(sql, values, cb) tells a missing argument by its type: passing
    // an undefined one on is the same call.
    if (depth.bypass > 0) return original.call(this, sql, values, cb);
    const userCallback = userCb(values, cb);
    if (userCallback === undefined) {
      // The emitter form (`pool.query(sql).stream()`): the wait for a connection is an op
      // of this flow (getConnection's), and the command, sent once the pool hands one
      // over, is marked as this flow's (the pool's callback runs outside any greenlet).
      // The pool calls back on a later tick, so marking after the call is in time.
      const cmd = original.call(this, sql, values, cb) as { [kIssuer]?: hub.Flow } | null;
      const flow = hub.storedFlow();
      if (flow !== undefined && cmd !== null && typeof cmd === 'object') cmd[kIssuer] = flow;
      return cmd;
    }
    return start(K_QUERY, sqlOf(sql), new State(userCallback, this, original, sql, values, null, side, runPoolQuery));
  } }).query;
}

const READ_ONLY = [1290, 1792, 1836]; // mysql2's pool destroys a connection that answers these

/** pool.execute as one op: get a connection, execute, give it back (as mysql2 does). */
function runPoolExecute(st: State): void {
  const pool = st.self as Pool;
  const get = (): void => withBypass(() => pool.getConnection((err, conn) => {
    if (err) return st.done(err);
    if (st.cancelled) return conn!.release();
    st.conn = conn!;
    const args = st.callArgs();
    args[args.length - 1] = (e: unknown, rows?: unknown, fields?: unknown) => {
      if (READ_ONLY.includes(Number((e as { errno?: unknown } | null)?.errno))) (conn as unknown as { destroy(): void }).destroy();
      st.done(e, rows, fields);
    };
    try {
      withBypass(() => {
        const cmd = Reflect.apply((conn as unknown as { execute: AnyFunction }).execute, conn, args) as MyCmd & { once(ev: string, f: () => void): void };
        st.cmd = cmd;
        cmd.once('end', () => conn!.release());
      });
    } catch (e) {
      conn!.release();
      st.done(e);
    }
  }));
  if (mayOpen(pool as PoolFields)) outside(get);
  else get();
}

export function poolExecute(side: SideFactory) {
  return (original: AnyFunction): AnyFunction => ({ execute(this: Pool, sql: unknown, values: unknown, cb: unknown) {
    const userCallback = userCb(values, cb);
    if (depth.bypass > 0 || userCallback === undefined) return Reflect.apply(original, this, arguments);
    start(K_EXECUTE, sqlOf(sql), new State(userCallback, this, original, sql, values, null, side, runPoolExecute));
    return undefined;
  } }).execute;
}

function runGetConnection(st: State): void {
  const cb = (err: unknown, conn?: MyConn & { release(): void }): void => {
    // A connection handed over after its greenlet gave up waiting goes back.
    if (st.cancelled) return conn?.release();
    if (st.op!.isWait || st.op!.end()) {
      if (st.op!.isWait) {
        if (err) st.op!.reject(err);
        else st.op!.resolve(undefined);
      }
      st.cb(err, conn);
    } else {
      conn?.release();
    }
  };
  if (mayOpen(st.self as PoolFields)) outside(st.original, st.self, cb);
  else st.original.call(st.self, cb);
}

export function poolGetConnection(original: AnyFunction): AnyFunction {
  return ({ getConnection(this: Pool, cb: unknown) {
    if (depth.bypass > 0 || typeof cb !== 'function') return Reflect.apply(original, this, arguments);
    start(K_CONNECT, 'pool', new State(cb as Cb, this, original, cb, undefined, null, null, runGetConnection));
    return undefined;
  } }).getConnection;
}
