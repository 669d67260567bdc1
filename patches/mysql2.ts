/**
 * The mysql2 integration (rows of the `mysql2` client patch): `query`, `execute` and
 * `prepare` on a connection, a prepared statement's `execute`, `query`/`execute` on a
 * pool and `pool.getConnection` are ops of the greenlet that calls them, whoever opened
 * the connection (`mysql.query SELECT SLEEP(?)`, never the values); through the callback
 * API, the promise API (`mysql2/promise`) and the emitter/stream form (mysql2-emitter.ts).
 * A kill or a timeout kills a running command on the server (mysql2-kill.ts) and leaves
 * the connection usable; connections belong to nobody, so no greenlet's death closes
 * them. Limit: `KILL QUERY` ends a multi-statement query as a whole.
 */
import * as hub from '../src/hub/index.js';
import { wrap, type AnyFunction } from '../src/internal/wrap.js';
import { kOp } from '../src/internal/symbols.js';
import type { ModulePatch } from './patch.js';
import { callbackHandler, notCancelled, outside, trackOrRefuse, type NotedHandler } from './client-ops.js';
import { sqlText } from './pg-sql-text.js';
import { killCommand, whyNotKillable, type MyCmd, type MyConn, type SideFactory } from './mysql2-kill.js';
import { addEmitterCommand, isEmitterCommand } from './mysql2-emitter.js';
import { trackHandshake } from './mysql2-connect.js';
import { kClientWrites } from './net.js';

const K_QUERY = hub.kind('mysql.query');
const K_EXECUTE = hub.kind('mysql.execute');
const K_CONNECT = hub.kind('mysql.connect');
const K_PREPARE = hub.kind('mysql.prepare');
const BASE = 'mysql2/lib/base/connection.js';
const POOL = 'mysql2/lib/base/pool.js';
const PROMISE_CONN = 'mysql2/lib/promise/connection.js';
const PROMISE_POOL = 'mysql2/lib/promise/pool.js';
const PROMISE_STMT = 'mysql2/lib/promise/prepared_statement_info.js';

let bypass = 0;
// Set while mysql2's promise API calls the callback API: the op is then a hub wait, so
// run-info shows the greenlet waiting on it (not suspended on a promise it cannot see).
let promiseLayer = 0;
const kOwned = Symbol('greenio.mysqlOwned');

function withBypass(fn: () => void): void {
  bypass++;
  try {
    fn();
  } finally {
    bypass--;
  }
}

type Cb = (err: unknown, rows?: unknown, fields?: unknown) => void;

/** One op: a command on a connection or a pool, or a wait for a pool's connection. */
class State {
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
    readonly args: IArguments,
    public conn: MyConn | null,
    readonly side: SideFactory | null,
    readonly runner: (st: State) => void,
  ) {}

  /** The original call's arguments with our callback in place of the user's. */
  callArgs(): unknown[] {
    const a = this.args;
    return typeof a[1] === 'function' ? [a[0], this.done] : [a[0], a[1], this.done];
  }
}

function abort(st: State): void {
  st.cancelled = true;
  if (st.cmd !== null && st.side !== null) killCommand(st.conn, st.cmd, st.side, withBypass);
}

// What an interrupt leaves running on the server: a command no KILL QUERY can reach.
function note(op: hub.Op): string | undefined {
  const st = op.data as State;
  const why = st.cmd === null || st.side === null || st.cancelled ? null : whyNotKillable(st.conn, st.cmd);
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

/** Run `st` as an op of the current flow (a wait under the promise API). */
function start(kind: hub.Kind, detail: string, st: State): unknown {
  if (promiseLayer > 0) {
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

/** The op's detail: the statement as written (never its values, nor its literals). */
function sqlOf(sql: unknown): string {
  const text = typeof sql === 'string' ? sql : sql !== null && typeof sql === 'object' ? (sql as { sql?: unknown }).sql : undefined;
  return typeof text === 'string' ? sqlText(text, 'mysql') : '';
}

/** The user's callback: (sql, values, cb) or (sql, cb). */
function userCb(args: IArguments): Cb | undefined {
  const v = args[1] as unknown;
  if (typeof v === 'function') return v as Cb;
  const cb = args[2] as unknown;
  return typeof cb === 'function' ? (cb as Cb) : undefined;
}

const kPoolState = Symbol('greenio.mysqlPoolState');

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

function connCommand(kind: hub.Kind, side: SideFactory) {
  return (original: AnyFunction): AnyFunction => ({ command(this: MyConn) {
    const first = arguments[0] as (MyCmd & { [kPoolState]?: State }) | undefined;
    const pooled = first !== null && typeof first === 'object' ? first[kPoolState] : undefined;
    if (pooled !== undefined) {
      // pool.query's command, now on its connection: the op (made at pool.query) learns where.
      pooled.conn = this;
      return Reflect.apply(original, this, arguments);
    }
    const cb = userCb(arguments);
    if (bypass > 0 || cb === undefined) return Reflect.apply(original, this, arguments);
    const st = new State(cb, this, original, arguments, this, side, runOnConn);
    if (kind === K_PREPARE) st.onDrop = closeStatement;
    return start(kind, sqlOf(arguments[0]), st);
  } }).command;
}

type Added = MyCmd & { onResult?: unknown; statement?: { query?: unknown } };

// A prepared statement's execute(): its command, added with the user's callback in our place.
function runAdd(st: State): void {
  const cmd = st.args[0] as Added;
  cmd.onResult = st.done;
  st.ret = Reflect.apply(st.original, st.self, [cmd]);
  st.cmd = cmd;
}

/**
 * The first command (the handshake) makes the connection's socket nobody's. A command
 * added by no wrapper of ours is made an op here: a prepared statement's `execute()`
 * (it carries its statement), and one issued without a callback (mysql2-emitter.ts).
 */
function addCommandWrapper(side: SideFactory) {
  return (original: AnyFunction): AnyFunction => ({ addCommand(this: MyConn & { [kOwned]?: boolean }) {
    if (this[kOwned] !== true) {
      this[kOwned] = true;
      const stream = this.stream as Record<symbol, unknown> | undefined;
      const op = stream?.[kOp] as hub.AnyOp | undefined;
      if (op !== undefined) hub.adopt(op, hub.main);
      // mysql2 writes each packet with a callback: without this, each would be a
      // `net write` op of main beside the query's own op (and a host:port string per write).
      if (stream != null && typeof stream === 'object') stream[kClientWrites] = true;
      if (bypass === 0 && arguments[0]?.constructor?.name === 'ClientHandshake') trackHandshake(this as never, arguments[0]);
    }
    const cmd = arguments[0] as Added | undefined;
    if (bypass === 0 && cmd != null) {
      if (typeof cmd.onResult === 'function' && cmd.statement != null && typeof cmd.statement === 'object') {
        const st = new State(cmd.onResult as Cb, this, original, arguments, this, side, runAdd);
        return start(K_EXECUTE, sqlOf(cmd.statement.query), st) ?? cmd;
      }
      if (promiseLayer === 0 && isEmitterCommand(cmd)) {
        // A callback-less pool.query's command reaches its connection outside any
        // greenlet (the pool hands connections out there): the op is its issuer's.
        const flow = (cmd as { [kIssuer]?: hub.Flow })[kIssuer];
        if (flow !== undefined && flow.greenlet.state !== hub.State.Dead) return hub.runIn(flow, addEmitterCommand, this, cmd, original, side, withBypass);
        return addEmitterCommand(this, cmd, original, side, withBypass);
      }
    }
    return Reflect.apply(original, this, arguments);
  } }).addCommand;
}

type Pool = { getConnection(cb: (err: unknown, conn?: MyConn & { release(): void }) => void): void };

function runPoolQuery(st: State): void {
  // The pool's wait for a connection is part of this op, not one of its own (a second
  // op per query): a cancel before the connection comes marks the command not to start
  // (mysql2-kill.ts), and the pool gets the connection back. Outside the greenlet, as
  // `getConnection`, when the pool may open a connection for it (the connection is then
  // the pool's); else in place: a free connection or a queued wait is handed over on a
  // later tick and opens nothing, and on Node 24+ each run() copies the context (~0.7 KB).
  if (mayOpen(st.self as PoolFields)) hub.runIn(NOBODY, callOriginal, st);
  else callOriginal(st);
  st.cmd = st.ret as MyCmd;
  (st.ret as { [kPoolState]?: State })[kPoolState] = st;
}

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

// The original call, bypassed (its commands are this op's); no closure nor array per query.
function callOriginal(st: State): void {
  const a = st.args;
  bypass++;
  try {
    st.ret = typeof a[1] === 'function' ? st.original.call(st.self, a[0], st.done) : st.original.call(st.self, a[0], a[1], st.done);
  } finally {
    bypass--;
  }
}

const kIssuer = Symbol('greenio.mysqlIssuer');

function poolQuery(side: SideFactory) {
  return (original: AnyFunction): AnyFunction => ({ query(this: Pool) {
    const cb = userCb(arguments);
    if (bypass > 0) return Reflect.apply(original, this, arguments);
    if (cb === undefined) {
      // The emitter form (`pool.query(sql).stream()`): the wait for a connection is an op
      // of this flow (getConnection's), and the command, sent once the pool hands one
      // over, is marked as this flow's (the pool's callback runs outside any greenlet).
      // The pool calls back on a later tick, so marking after the call is in time.
      const cmd = Reflect.apply(original, this, arguments) as { [kIssuer]?: hub.Flow } | null;
      const flow = hub.storedFlow();
      if (flow !== undefined && cmd !== null && typeof cmd === 'object') cmd[kIssuer] = flow;
      return cmd;
    }
    return start(K_QUERY, sqlOf(arguments[0]), new State(cb, this, original, arguments, null, side, runPoolQuery));
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

function poolExecute(side: SideFactory) {
  return (original: AnyFunction): AnyFunction => ({ execute(this: Pool) {
    const cb = userCb(arguments);
    if (bypass > 0 || cb === undefined) return Reflect.apply(original, this, arguments);
    start(K_EXECUTE, sqlOf(arguments[0]), new State(cb, this, original, arguments, null, side, runPoolExecute));
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
  else Reflect.apply(st.original, st.self, [cb]);
}

function poolGetConnection(original: AnyFunction): AnyFunction {
  return ({ getConnection(this: Pool, cb: unknown) {
    if (bypass > 0 || typeof cb !== 'function') return Reflect.apply(original, this, arguments);
    start(K_CONNECT, 'pool', new State(cb as Cb, this, original, arguments, null, null, runGetConnection));
    return undefined;
  } }).getConnection;
}

function inPromiseLayer(original: AnyFunction): AnyFunction {
  return ({ promised(this: unknown) {
    promiseLayer++;
    try {
      return Reflect.apply(original, this, arguments);
    } finally {
      promiseLayer--;
    }
  } }).promised;
}

// query/execute (sql, values), the hot ones: no `arguments` object per call (mysql2's own
// tell a missing `values` by `=== undefined`, so passing it as undefined is the same call).
function inPromiseLayer2(original: AnyFunction): AnyFunction {
  return ({ promised(this: unknown, sql: unknown, values: unknown) {
    promiseLayer++;
    try {
      return original.call(this, sql, values);
    } finally {
      promiseLayer--;
    }
  } }).promised;
}

// The promise API's methods that run a query (a transaction's statements included).
const PROMISED = ['query', 'execute', 'prepare', 'getConnection', 'beginTransaction', 'commit', 'rollback'];

type Proto = Record<string, unknown>;
function protoOf(exports: unknown): Proto | undefined {
  const p = (exports as { prototype?: Proto } | null)?.prototype;
  return p !== undefined && typeof p === 'object' ? p : undefined;
}

// The side connection for a KILL: a plain connection of the same copy of mysql2.
let sideFactory: SideFactory = () => {
  throw new Error('mysql2 base connection not loaded');
};

/** The `mysql2` rows of the client table. */
export const mysql2Patches: readonly ModulePatch[] = [
  {
    module: BASE,
    implements: { callback: ['BaseConnection.prototype.query', 'BaseConnection.prototype.execute', 'BaseConnection.prototype.prepare', 'PreparedStatementInfo.prototype.execute'] },
    patch(exports) {
      const proto = protoOf(exports);
      if (proto === undefined || typeof proto.query !== 'function') return;
      const Base = exports as new (o: { config: object }) => ReturnType<SideFactory>;
      const side: SideFactory = (config) => new Base({ config });
      sideFactory = side;
      wrap(proto, 'query', connCommand(K_QUERY, side), `module:${BASE}`);
      wrap(proto, 'execute', connCommand(K_EXECUTE, side), `module:${BASE}`);
      wrap(proto, 'prepare', connCommand(K_PREPARE, side), `module:${BASE}`);
      wrap(proto, 'addCommand', addCommandWrapper(side), `module:${BASE}`);
    },
  },
  {
    module: POOL,
    implements: { callback: ['BasePool.prototype.query', 'BasePool.prototype.execute', 'BasePool.prototype.getConnection'] },
    patch(exports) {
      const proto = protoOf(exports);
      if (proto === undefined || typeof proto.query !== 'function') return;
      const side: SideFactory = (config) => sideFactory(config);
      wrap(proto, 'query', poolQuery(side), `module:${POOL}`);
      wrap(proto, 'execute', poolExecute(side), `module:${POOL}`);
      wrap(proto, 'getConnection', poolGetConnection, `module:${POOL}`);
    },
  },
  {
    module: PROMISE_STMT,
    implements: { promise: ['PromisePreparedStatementInfo.prototype.execute'] },
    patch(exports) {
      const proto = protoOf(exports);
      if (proto !== undefined && typeof proto.execute === 'function') wrap(proto, 'execute', inPromiseLayer, `module:${PROMISE_STMT}`);
    },
  },
  ...[PROMISE_CONN, PROMISE_POOL].map((module): ModulePatch => ({
    module,
    implements: { promise: PROMISED.map((m) => `prototype.${m}`) },
    patch(exports) {
      const proto = protoOf(exports);
      if (proto === undefined) return;
      for (const m of PROMISED) if (typeof proto[m] === 'function') wrap(proto, m, m === 'query' || m === 'execute' ? inPromiseLayer2 : inPromiseLayer, `module:${module}`);
    },
  })),
];
