/**
 * The mysql2 integration (rows of the `mysql2` client patch): `query` and `execute` on a
 * connection or a pool, and `pool.getConnection`, are ops of the greenlet that calls
 * them, whoever opened the connection (`mysql.query SELECT SLEEP(?)`, never the values);
 * through the callback API and the promise API (`mysql2/promise`) alike. A kill or a
 * timeout kills a running command on the server (mysql2-kill.ts) and leaves the
 * connection usable; connections belong to nobody, so no greenlet's death closes them.
 * Limits: a command without a callback (the streaming `query().on('result')` form) is
 * passed through untracked; `KILL QUERY` ends a multi-statement query as a whole.
 */
import * as hub from '../src/hub.js';
import { wrap, type AnyFunction } from '../src/internal/wrap.js';
import { kOp } from '../src/internal/symbols.js';
import type { ModulePatch } from './patch.js';
import { killCommand, type MyCmd, type MyConn, type SideFactory } from './mysql2-kill.js';

const K_QUERY = hub.kind('mysql.query');
const K_EXECUTE = hub.kind('mysql.execute');
const K_CONNECT = hub.kind('mysql.connect');
const BASE = 'mysql2/lib/base/connection.js';
const POOL = 'mysql2/lib/base/pool.js';
const PROMISE_CONN = 'mysql2/lib/promise/connection.js';
const PROMISE_POOL = 'mysql2/lib/promise/pool.js';

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

type Cb = (err: unknown, ...res: unknown[]) => void;

interface State {
  cb: Cb;
  op: hub.Op | null;
  cancelled: boolean;
  conn: MyConn | null;
  cmd: MyCmd | null;
  run(st: State): void;
  side: SideFactory;
}

function abort(st: State): void {
  st.cancelled = true;
  if (st.cmd !== null) killCommand(st.conn, st.cmd, st.side, withBypass);
}

const WAIT: hub.OpHandler = {
  start(op) {
    const st = op.data as State;
    st.op = op;
    st.run(st);
  },
  cancel(op) {
    abort(op.data as State);
  },
};

const TRACKED: hub.OpHandler = {
  cancel(op, reason, silent) {
    const st = op.data as State;
    abort(st);
    if (silent === true) return false;
    process.nextTick(st.cb, reason);
    return true;
  },
};

/** Our callback for the command: drops a cancelled command's late result. */
function doneOf(st: State): Cb {
  return function (err, ...res) {
    if (st.cancelled) return;
    if (st.op!.isWait) {
      if (err) st.op!.reject(err);
      else st.op!.resolve(res);
    } else if (st.op!.end()) {
      st.cb(err, ...res);
    }
  };
}

/** Run `st` as an op of the current flow (a wait under the promise API). */
function start(kind: hub.Kind, detail: string, st: State): void {
  if (promiseLayer > 0) {
    void hub.wait<unknown[]>(kind, detail, WAIT, st).then((res) => st.cb(null, ...res), (e: unknown) => st.cb(e));
    return;
  }
  const flow = hub.currentFlow();
  const pending = hub.takePending(flow);
  if (pending !== null) {
    process.nextTick(st.cb, pending);
    return;
  }
  st.op = hub.track(kind, detail, TRACKED, st, flow);
  st.run(st);
}

function sqlOf(sql: unknown): string {
  const text = typeof sql === 'string' ? sql : sql !== null && typeof sql === 'object' ? (sql as { sql?: unknown }).sql : undefined;
  if (typeof text !== 'string') return '';
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 80 ? `${t.slice(0, 79)}…` : t;
}

// Arguments (sql, values, cb) or (sql, cb): the user's callback and the call with ours.
function split(args: IArguments): { cb: Cb | undefined; call: (done: Cb) => unknown[] } {
  const [sql, values, cb] = args as unknown as [unknown, unknown, unknown];
  if (typeof values === 'function') return { cb: values as Cb, call: (d) => [sql, d] };
  if (typeof cb === 'function') return { cb: cb as Cb, call: (d) => [sql, values, d] };
  return { cb: undefined, call: () => [] };
}

const kPoolState = Symbol('greenio.mysqlPoolState');

function connCommand(kind: hub.Kind, side: SideFactory) {
  return (original: AnyFunction): AnyFunction => ({ command(this: MyConn) {
    const first = arguments[0] as (MyCmd & { [kPoolState]?: State }) | undefined;
    const pooled = first !== null && typeof first === 'object' ? first[kPoolState] : undefined;
    if (pooled !== undefined) {
      // pool.query's command, now on its connection: the op (made at pool.query) learns where.
      pooled.conn = this;
      return Reflect.apply(original, this, arguments);
    }
    const { cb, call } = split(arguments);
    if (bypass > 0 || cb === undefined) return Reflect.apply(original, this, arguments);
    let ret: unknown;
    const st: State = { cb, op: null, cancelled: false, conn: this, cmd: null, side, run: (s) => {
      ret = hub.als.exit(Reflect.apply, original, this, call(doneOf(s)));
      s.cmd = ret as MyCmd;
    } };
    start(kind, sqlOf(arguments[0]), st);
    return ret;
  } }).command;
}

/** The first command (the handshake) makes the connection's socket nobody's. */
function addCommandWrapper(original: AnyFunction): AnyFunction {
  return ({ addCommand(this: MyConn & { [kOwned]?: boolean }) {
    if (this[kOwned] !== true) {
      this[kOwned] = true;
      const op = (this.stream as Record<symbol, hub.AnyOp | undefined> | undefined)?.[kOp];
      if (op !== undefined) hub.adopt(op, hub.main);
    }
    return Reflect.apply(original, this, arguments);
  } }).addCommand;
}

type Pool = { getConnection(cb: (err: unknown, conn?: MyConn & { release(): void }) => void): void };

function poolQuery(side: SideFactory) {
  return (original: AnyFunction): AnyFunction => ({ query(this: Pool) {
    const { cb, call } = split(arguments);
    if (bypass > 0 || cb === undefined) return Reflect.apply(original, this, arguments);
    let ret: unknown;
    const st: State = { cb, op: null, cancelled: false, conn: null, cmd: null, side, run: (s) => {
      ret = hub.als.exit(Reflect.apply, original, this, call(doneOf(s)));
      s.cmd = ret as MyCmd;
      Object.defineProperty(ret, kPoolState, { value: s, configurable: true });
    } };
    start(K_QUERY, sqlOf(arguments[0]), st);
    return ret;
  } }).query;
}

/** pool.execute as one op: get a connection, execute, give it back (as mysql2 does). */
function poolExecute(side: SideFactory) {
  return (original: AnyFunction): AnyFunction => ({ execute(this: Pool) {
    const { cb, call } = split(arguments);
    if (bypass > 0 || cb === undefined) return Reflect.apply(original, this, arguments);
    const st: State = { cb, op: null, cancelled: false, conn: null, cmd: null, side, run: (s) => {
      const done = doneOf(s);
      hub.als.exit(() => withBypass(() => this.getConnection((err, conn) => {
        if (err) return done(err);
        if (s.cancelled) return conn!.release();
        s.conn = conn!;
        try {
          withBypass(() => {
            const cmd = (conn as unknown as { execute: AnyFunction }).execute(...call((e: unknown, ...res: unknown[]) => {
              const ro = [1290, 1792, 1836].includes(Number((e as { errno?: unknown } | null)?.errno));
              if (ro) (conn as unknown as { destroy(): void }).destroy();
              done(e, ...res);
            })) as MyCmd & { once(ev: string, f: () => void): void };
            s.cmd = cmd;
            cmd.once('end', () => conn!.release());
          });
        } catch (e) {
          conn!.release();
          done(e);
        }
      })));
    } };
    start(K_EXECUTE, sqlOf(arguments[0]), st);
    return undefined;
  } }).execute;
}

function poolGetConnection(original: AnyFunction): AnyFunction {
  return ({ getConnection(this: Pool, cb: unknown) {
    if (bypass > 0 || typeof cb !== 'function') return Reflect.apply(original, this, arguments);
    const st: State = { cb: cb as Cb, op: null, cancelled: false, conn: null, cmd: null, side: () => { throw new Error('unused'); }, run: (s) => {
      hub.als.exit(Reflect.apply, original, this, [(err: unknown, conn?: { release(): void }) => {
        // A connection handed over after its greenlet gave up waiting goes back.
        if (s.cancelled) return conn?.release();
        if (s.op!.isWait) {
          if (err) s.op!.reject(err);
          else s.op!.resolve([conn]);
        } else if (s.op!.end()) s.cb(err, conn);
        else conn?.release();
      }]);
    } };
    start(K_CONNECT, 'pool', st);
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

// The promise API's methods that run a query (a transaction's statements included).
const PROMISED = ['query', 'execute', 'getConnection', 'beginTransaction', 'commit', 'rollback'];

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
    implements: { callback: ['BaseConnection.prototype.query', 'BaseConnection.prototype.execute'] },
    patch(exports) {
      const proto = protoOf(exports);
      if (proto === undefined || typeof proto.query !== 'function') return;
      const Base = exports as new (o: { config: object }) => ReturnType<SideFactory>;
      const side: SideFactory = (config) => new Base({ config });
      sideFactory = side;
      wrap(proto, 'query', connCommand(K_QUERY, side), `module:${BASE}`);
      wrap(proto, 'execute', connCommand(K_EXECUTE, side), `module:${BASE}`);
      wrap(proto, 'addCommand', addCommandWrapper, `module:${BASE}`);
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
  ...[PROMISE_CONN, PROMISE_POOL].map((module): ModulePatch => ({
    module,
    implements: { promise: PROMISED.map((m) => `prototype.${m}`) },
    patch(exports) {
      const proto = protoOf(exports);
      if (proto === undefined) return;
      for (const m of PROMISED) if (typeof proto[m] === 'function') wrap(proto, m, inPromiseLayer, `module:${module}`);
    },
  })),
];
