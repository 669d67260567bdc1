/**
 * mysql2 commands issued without a callback (`conn.query(sql).stream()`, the emitter form
 * `query(sql).on('result', …)`, `execute(sql)` likewise) as ops of the greenlet that
 * issues them: the op ends at the command's 'end'. A kill or timeout kills the command on
 * the server (mysql2-kill.ts), hands the interrupt's error to the command's 'error'
 * listeners (a `.stream()` is destroyed with it, so a `for await` throws it at once) and
 * drops the late rows. Limit: with no 'error' listener, nothing reaches user code: the
 * greenlet unwinds at its next greenio wait.
 */
import * as hub from '../src/hub/index.js';
import type { AnyFunction } from '../src/internal/wrap.js';
import { type NotedHandler } from './client-ops.js';
import { sqlText } from './pg-sql-text.js';
import { killCommand, whyNotKillable, type MyCmd, type MyConn, type SideFactory } from './mysql2-kill.js';

/** A mysql2 Query or Execute command, as far as the emitter form goes. */
type EmitterCmd = MyCmd & {
  sql?: unknown;
  _queryOptions?: { sql?: unknown };
  emit(ev: string | symbol, ...a: unknown[]): boolean;
  once(ev: string, fn: () => void): unknown;
  listenerCount(ev: string): number;
};

class Emitting {
  cancelled = false;
  constructor(
    readonly conn: MyConn,
    readonly cmd: EmitterCmd,
    readonly side: SideFactory,
    readonly bypass: (fn: () => void) => void,
  ) {}
}

// After a cancel only 'end' passes: a pool gives its connection back on it; the rows and
// the server's "query interrupted" error of a command nobody waits for are dropped.
function dropLate(this: EmitterCmd, ev: string | symbol, ...a: unknown[]): boolean {
  if (ev !== 'end') return false;
  return Reflect.apply(Object.getPrototypeOf(this).emit as AnyFunction, this, [ev, ...a]) as boolean;
}

function emitError(a: { emit: AnyFunction; cmd: EmitterCmd; reason: unknown }): void {
  Reflect.apply(a.emit, a.cmd, ['error', a.reason]);
}

const HANDLER: NotedHandler = {
  note(op) {
    const st = op.data as Emitting;
    const why = st.cancelled ? null : whyNotKillable(st.conn, st.cmd);
    return why === null ? undefined : `not cancelled on the server: ${why}`;
  },
  cancel(op, reason, silent) {
    const st = op.data as Emitting;
    st.cancelled = true;
    killCommand(st.conn, st.cmd, st.side, st.bypass);
    const cmd = st.cmd;
    const handOver = silent !== true && cmd.listenerCount('error') > 0;
    const emit = cmd.emit;
    cmd.emit = dropLate;
    // As Node does for an AbortSignal: the listeners get the interrupt's error on the next tick.
    if (handOver) hub.tickIn(op, emitError, { emit, cmd, reason });
    return handOver;
  },
};

const KINDS = new Map<string, hub.Kind>();
function kindOf(name: string): hub.Kind {
  let k = KINDS.get(name);
  if (k === undefined) KINDS.set(name, (k = hub.kind(name)));
  return k;
}

/** True for a Query or Execute command issued with no callback (the emitter form). */
export function isEmitterCommand(cmd: unknown): boolean {
  if (cmd === null || typeof cmd !== 'object') return false;
  const c = cmd as { onResult?: unknown; constructor?: { name?: string } };
  if (c.onResult != null) return false; // most commands: checked first, cheapest
  const name = c.constructor?.name;
  return name === 'Query' || name === 'Execute';
}

/**
 * Add `cmd` (an emitter-form command) to `conn` through `add` (mysql2's addCommand) as an
 * op of the current flow. Under a pending kill nothing is sent: the command reports the
 * kill (to its 'error' listeners, if any) and ends, on the next tick.
 */
export function addEmitterCommand(conn: MyConn, cmd: MyCmd, add: AnyFunction, side: SideFactory, bypass: (fn: () => void) => void): unknown {
  const c = cmd as EmitterCmd;
  const kind = kindOf(c.constructor.name === 'Query' ? 'mysql.query' : 'mysql.execute');
  // The statement as written (a Query's `sql` has its values formatted in by now).
  const text = c._queryOptions?.sql ?? c.sql;
  const st = new Emitting(conn, c, side, bypass);
  const op = hub.begin(kind, typeof text === 'string' ? sqlText(text, 'mysql') : '', HANDLER, st);
  if (op instanceof Error) {
    process.nextTick(() => {
      if (c.listenerCount('error') > 0) c.emit('error', op);
      c.emit('end');
    });
    return cmd;
  }
  c.once('end', () => op.end());
  return Reflect.apply(add, conn, [cmd]);
}
