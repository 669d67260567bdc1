/**
 * The mysql2 integration on a connection: `query`, `execute` and `prepare` with a
 * callback, a prepared statement's `execute` (its command, added), and a command issued
 * without a callback (mysql2-emitter.ts) are ops of the calling greenlet; the first
 * command (the handshake) makes the connection's socket nobody's. Limit: a command
 * issued through none of these (mysql2's internal ones) is no op of its own.
 */
import * as hub from '../src/hub/index.js';
import type { AnyFunction } from '../src/internal/wrap.js';
import { kOp } from '../src/internal/symbols.js';
import { outside } from './client-ops.js';
import type { MyCmd, MyConn, SideFactory } from './mysql2-kill.js';
import { addEmitterCommand, isEmitterCommand } from './mysql2-emitter.js';
import { trackHandshake } from './mysql2-connect.js';
import { kClientWrites } from './net.js';
import { callOriginal, depth, kIssuer, sqlOf, start, State, userCb, withBypass, type Cb } from './mysql2-op.js';

export const K_QUERY = hub.kind('mysql.query');
export const K_EXECUTE = hub.kind('mysql.execute');
export const K_PREPARE = hub.kind('mysql.prepare');

const kOwned = Symbol('greenio.mysqlOwned');

// Called in the caller's context: a command on an open connection starts no handle or
// timer of its own worth owning, and a connection the pool opens here gives its socket
// away at once (addCommandWrapper). Bypassed: the commands it adds are this op's.
function runOnConn(st: State): void {
  callOriginal(st);
  st.cmd = st.ret as MyCmd;
}

// A statement prepared for a greenlet that was killed meanwhile: closed, not left on the server.
function closeStatement(stmt: unknown): void {
  const close = (stmt as { close?: unknown } | null)?.close;
  if (typeof close === 'function') outside(() => withBypass(() => Reflect.apply(close, stmt, [])));
}

/** `query`/`execute`/`prepare` of a connection: (sql, values, cb) or (sql, cb). */
export function connCommand(kind: hub.Kind, side: SideFactory) {
  return (original: AnyFunction): AnyFunction => ({ command(this: MyConn, sql: unknown, values: unknown, cb: unknown) {
    // A pool's command reaches its connection with no callback (the pool's op knows it: mysql2-op.ts connOf).
    const userCallback = userCb(values, cb);
    if (depth.bypass > 0 || userCallback === undefined) return Reflect.apply(original, this, arguments);
    const st = new State(userCallback, this, original, sql, values, this, side, runOnConn);
    if (kind === K_PREPARE) st.onDrop = closeStatement;
    return start(kind, sqlOf(sql), st);
  } }).command;
}

type Added = MyCmd & { onResult?: unknown; statement?: { query?: unknown } };

// A prepared statement's execute(): its command, added with the user's callback in our place.
function runAdd(st: State): void {
  const cmd = st.a0 as Added;
  cmd.onResult = st.done;
  st.ret = st.original.call(st.self, cmd);
  st.cmd = cmd;
}

/**
 * The first command (the handshake) makes the connection's socket nobody's. A command
 * added by no wrapper of ours is made an op here: a prepared statement's `execute()`
 * (it carries its statement), and one issued without a callback (mysql2-emitter.ts).
 */
export function addCommandWrapper(side: SideFactory) {
  return (original: AnyFunction): AnyFunction => ({ addCommand(this: MyConn & { [kOwned]?: boolean }, cmd: Added | undefined) {
    if (this[kOwned] !== true) {
      this[kOwned] = true;
      const stream = this.stream as Record<symbol, unknown> | undefined;
      const op = stream?.[kOp] as hub.AnyOp | undefined;
      if (op !== undefined) hub.adopt(op, hub.main);
      // mysql2 writes each packet with a callback: without this, each would be a
      // `net write` op of main beside the query's own op (and a host:port string per write).
      if (stream != null && typeof stream === 'object') stream[kClientWrites] = true;
      if (depth.bypass === 0 && cmd?.constructor?.name === 'ClientHandshake') trackHandshake(this as never, cmd as never);
    }
    if (depth.bypass === 0 && cmd != null) {
      if (typeof cmd.onResult === 'function' && cmd.statement != null && typeof cmd.statement === 'object') {
        const st = new State(cmd.onResult as Cb, this, original, cmd, undefined, this, side, runAdd);
        return start(K_EXECUTE, sqlOf(cmd.statement.query), st) ?? cmd;
      }
      if (depth.promise === 0 && isEmitterCommand(cmd)) {
        // A callback-less pool.query's command reaches its connection outside any
        // greenlet (the pool hands connections out there): the op is its issuer's.
        const flow = (cmd as { [kIssuer]?: hub.Flow })[kIssuer];
        if (flow !== undefined && flow.greenlet.state !== hub.State.Dead) return hub.runIn(flow, addEmitterCommand, this, cmd, original, side, withBypass);
        return addEmitterCommand(this, cmd, original, side, withBypass);
      }
    }
    return original.call(this, cmd); // addCommand(cmd) takes one argument
  } }).addCommand;
}
