/**
 * postgres.js (`postgres` v3) as greenlet ops: awaiting a query (`` await sql`...` ``, a
 * `sql.unsafe()`, each statement of `sql.begin()`) makes it an op of the awaiting greenlet,
 * named by its statement (`postgres.query select pg_sleep($1)`, never a value), whoever
 * opened the connection. A kill or timeout rejects the await at once and cancels the query
 * on the server through postgres.js's own `query.cancel()` (a cancel request on a side
 * connection when it runs; taken off the queue when it waits for a connection); the late
 * answer is dropped and the connection serves the next query. Inside `sql.begin()` the
 * cancelled statement fails the transaction, and postgres.js rolls it back. The client's
 * machinery (connecting, writing, reading) runs outside any greenlet, so no greenlet's
 * death closes a connection. Patched in both builds: `postgres/src/query.js` (an ES-module
 * `import`, Node ≥ 22.15: esm-hook.ts) and `postgres/cjs/src/query.js` (`require`).
 * Limits: a query never awaited (`.execute()` alone, a cursor's rows, `.forEach` not
 * awaited) runs as the client's own, owned by no greenlet; `COPY` streams are not cut.
 */
import * as hub from '../src/hub/index.js';
import { wrap, type AnyFunction } from '../src/internal/wrap.js';
import type { ModulePatch } from './patch.js';
import { outside, type NotedHandler } from './client-ops.js';
import { sqlText } from './pg-sql-text.js';

const K_QUERY = hub.kind('postgres.query');

/** What greenio reads and calls on a postgres.js `Query` (a Promise subclass). */
interface Query extends Promise<unknown> {
  strings: readonly string[];
  cancel(): Promise<void> | null | false | undefined;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  [kOwned]?: true;
}

const kOwned = Symbol('greenio.postgresOp');
const noop = (): void => {};

/** One awaited query: the op's data and, through `describe`, its name. */
class Awaited {
  constructor(
    readonly q: Query,
    /** postgres.js's own `then`. */
    readonly then: AnyFunction,
  ) {}

  describe(): string {
    // A tagged template's parts joined by numbered placeholders, as postgres.js numbers
    // its parameters; a fragment or identifier argument reads as a placeholder too.
    const s = this.q.strings;
    let text = s[0] ?? '';
    for (let i = 1; i < s.length; i++) text += `$${i}${s[i]}`;
    return sqlText(text, 'pg');
  }
}

const HANDLER: NotedHandler<unknown> = {
  start(op) {
    const a = op.data as Awaited;
    // postgres.js's `then` starts the query (its `handle`, wrapped below).
    Reflect.apply(a.then, a.q, [(v: unknown) => op.resolve(v), (e: unknown) => op.reject(e)]);
  },
  cancel(op) {
    const q = (op.data as Awaited).q;
    // Its late answer (the server's 57014, or a result that crossed the cancel) goes
    // nowhere: the op is rejected with the interrupt's error.
    q.resolve = noop;
    q.reject = noop;
    const sent = outside(q.cancel, q);
    if (sent instanceof Promise) sent.catch(noop); // the side connection failed: the query runs on
    return false;
  },
};

function thenWrapper(original: AnyFunction): AnyFunction {
  return function then(this: Query) {
    // postgres.js's own chaining (a transaction's `q.catch`) and every `then` after the
    // first pass through: the first caller's flow owns the query.
    if (this[kOwned] === true || !(this instanceof Promise)) return Reflect.apply(original, this, arguments);
    this[kOwned] = true;
    const a = new Awaited(this, original);
    const p = hub.wait(K_QUERY, a, HANDLER, a);
    return Reflect.apply(Promise.prototype.then, p, arguments) as unknown;
  };
}

/**
 * `handle` starts a query (sends it, or opens a connection for it): outside any greenlet,
 * whoever calls it (`then`, `execute()`, `sql.begin()`'s own statements).
 */
function handleWrapper(original: AnyFunction): AnyFunction {
  return function handle(this: Query) {
    return outside(original, this);
  };
}

/** The row of one build's `query.js` (each its own wrap owner, as the table reverts by row). */
function row(module: string): ModulePatch {
  const owner = `module:${module}`;
  return {
    module,
    implements: { promise: ['Query.prototype.then'], handle: ['Query.prototype.handle'] },
    patch(exports) {
      const Query = (exports as { Query?: unknown }).Query;
      if (typeof Query !== 'function') return;
      const proto = (Query as { prototype: object }).prototype;
      wrap(proto, 'then', thenWrapper, owner);
      wrap(proto, 'handle', handleWrapper, owner);
    },
  };
}

/** The two builds' `query.js`: the ES module (`import`) and the CommonJS one (`require`). */
export const postgresPatches: readonly ModulePatch[] = [row('postgres/src/query.js'), row('postgres/cjs/src/query.js')];
