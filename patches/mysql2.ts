/**
 * The mysql2 integration (rows of the `mysql2` client patch): `query`, `execute` and
 * `prepare` on a connection, a prepared statement's `execute`, `query`/`execute` on a
 * pool and `pool.getConnection` are ops of the greenlet that calls them, whoever opened
 * the connection (`mysql.query SELECT SLEEP(?)`, never the values); through the callback
 * API (mysql2-conn.ts, mysql2-pool.ts), the promise API (`mysql2/promise`, here) and the
 * emitter/stream form (mysql2-emitter.ts). A kill or a timeout kills a running command on
 * the server (mysql2-kill.ts) and leaves the connection usable; connections belong to
 * nobody, so no greenlet's death closes them. Limit: `KILL QUERY` ends a multi-statement
 * query as a whole.
 */
import { wrap, type AnyFunction } from '../src/internal/wrap.js';
import type { ModulePatch } from './patch.js';
import type { SideFactory } from './mysql2-kill.js';
import { depth } from './mysql2-op.js';
import { addCommandWrapper, connCommand, K_EXECUTE, K_PREPARE, K_QUERY } from './mysql2-conn.js';
import { poolExecute, poolGetConnection, poolQuery } from './mysql2-pool.js';

const BASE = 'mysql2/lib/base/connection.js';
const POOL = 'mysql2/lib/base/pool.js';
const PROMISE_CONN = 'mysql2/lib/promise/connection.js';
const PROMISE_POOL = 'mysql2/lib/promise/pool.js';
const PROMISE_STMT = 'mysql2/lib/promise/prepared_statement_info.js';

function inPromiseLayer(original: AnyFunction): AnyFunction {
  return ({ promised(this: unknown) {
    depth.promise++;
    try {
      return Reflect.apply(original, this, arguments);
    } finally {
      depth.promise--;
    }
  } }).promised;
}

// query/execute (sql, values), the hot ones: no `arguments` object per call (mysql2's own
// tell a missing `values` by `=== undefined`, so passing it as undefined is the same call).
function inPromiseLayer2(original: AnyFunction): AnyFunction {
  return ({ promised(this: unknown, sql: unknown, values: unknown) {
    depth.promise++;
    try {
      return original.call(this, sql, values);
    } finally {
      depth.promise--;
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
