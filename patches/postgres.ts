/**
 * postgres.js (`postgres` v3 and v4) as greenlet ops: awaiting a query (`` await sql`...` ``, a
 * `sql.unsafe()`, each statement of `sql.begin()`) makes it an op of the awaiting greenlet,
 * named by its statement (`postgres.query select pg_sleep($1)`, never a value), whoever
 * opened the connection. A kill or timeout rejects the await at once and cancels the query
 * on the server through postgres.js's own `query.cancel()` (a cancel request on a side
 * connection when it runs; taken off the queue when it waits for a connection); the late
 * answer is dropped and the connection serves the next query. Inside `sql.begin()` the
 * cancelled statement fails the transaction, and postgres.js rolls it back. The client's
 * machinery (connecting, writing, reading) runs outside any greenlet, so no greenlet's
 * death closes a connection. Patched in both builds: `postgres/src/query.js` (an ES-module
 * `import`, Node ≥ 22.15: esm-hook.ts) and `postgres/cjs/src/query.js` (`require`); v4 has
 * only the first (by `import` or `require`, Node ≥ 22.15; never on Node 20).
 * A cursor's batches (`for await (const rows of q.cursor(n))`) are waits too: a kill or
 * timeout there cancels the query and closes the cursor, so the connection is freed.
 * Limits: a query never awaited (`.execute()` alone, `.forEach` not awaited) runs as the
 * client's own, owned by no greenlet; `COPY` streams are not cut; the connection of a
 * cancelled query takes no new query until the cancel request is through, and a query
 * stopped in its describe round trip is never executed (postgres-hold.ts, which says what
 * that cannot reach); a cancel request whose side connection fails leaves the query
 * running to its end (warned: `GREENIO_PG_CANCEL`).
 */
import * as hub from '../src/hub/index.js';
import { wrap, type AnyFunction } from '../src/internal/wrap.js';
import type { ModulePatch } from './patch.js';
import { outside, warnNotCancelled, type NotedHandler } from './client-ops.js';
import { sqlText } from './pg-sql-text.js';
import { holdWhileCancelling, learnConnection, type HeldQuery } from './postgres-hold.js';

const K_QUERY = hub.kind('postgres.query');

/** What greenio reads and calls on a postgres.js `Query` (a Promise subclass). */
interface Query extends Promise<unknown>, Omit<HeldQuery, 'handler'> {
  strings: readonly string[];
  /** Returns null even when it sent a request: the request's promise is the canceller's. */
  cancel(): unknown;
  /** postgres.js's cancel function for this query (its connection's), cleared once called. */
  canceller?: ((q: Query) => unknown) | null;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** A cursor's: called with each batch; what it returns (`CLOSE`) tells the connection to stop. */
  cursorFn?: (rows: unknown) => unknown;
  [kOwned]?: true;
}

type Iter = AsyncIterator<unknown> & { return(): unknown };

const kOwned = Symbol('greenio.postgresOp');
const noop = (): void => {};

/** One awaited query, or one batch of a cursor: the op's data and, through `describe`, its name. */
class Awaited {
  constructor(
    readonly q: Query,
    /** postgres.js's own `then` (a query), or null (a cursor's batch). */
    readonly then: AnyFunction | null,
    /** The cursor's own iterator (a batch), or null. */
    readonly it: Iter | null = null,
    /** The cursor's build's `CLOSE` marker (what its callback returns to stop). */
    readonly close: unknown = undefined,
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
    const ok = (v: unknown): void => op.resolve(v);
    const fail = (e: unknown): void => op.reject(e);
    // postgres.js's `then` starts the query (its `handle`, wrapped below); a cursor's
    // `next()` resumes the connection for the next batch.
    if (a.then !== null) Reflect.apply(a.then, a.q, [ok, fail]);
    else void Promise.resolve(a.it!.next()).then(ok, fail);
  },
  cancel(op) {
    const { q, it, close } = op.data as Awaited;
    // Its late answer (the server's 57014, or a result that crossed the cancel) goes
    // nowhere: the op is rejected with the interrupt's error.
    q.resolve = noop;
    q.reject = noop;
    if (it !== null) {
      // A cursor: a batch that crosses the cancel closes the portal (else the connection
      // would wait for a consumer that is gone, for good), as the iterator's `return` does.
      q.cursorFn = () => close;
      it.return();
    }
    // `q.cancel()` drops the request's promise (it returns the `canceller = null`
    // assignment), so a refused side connection would be an unhandled rejection that ends
    // the process: the canceller is called here, as `cancel()` calls it, to keep that promise.
    const canceller = q.canceller;
    let sent: unknown;
    if (typeof canceller === 'function') {
      q.canceller = null;
      sent = outside(canceller, undefined, q);
    } else {
      sent = outside(q.cancel, q);
    }
    if (sent instanceof Promise) sent.catch((e: unknown) => warnNotCancelled('cancel a postgres.js query', 'GREENIO_PG_CANCEL', e));
    // Its connection takes no new query until the request is through (postgres-hold.ts).
    holdWhileCancelling(q as unknown as HeldQuery, sent);
    return false;
  },
};

/**
 * `cursor(rows)` without a callback returns an async iterable: each `next()` is a wait of
 * the greenlet iterating (a batch: `postgres.query` too), so a kill or a timeout there
 * closes the cursor and frees the connection. With a callback it returns the query, awaited
 * as any query.
 */
function cursorWrapper(original: AnyFunction, close: unknown): AnyFunction {
  return function cursor(this: Query) {
    const r = Reflect.apply(original, this, arguments) as unknown;
    if (r === this || typeof r !== 'object' || r === null) return r;
    const q = this;
    const make = (r as AsyncIterable<unknown>)[Symbol.asyncIterator];
    return {
      [Symbol.asyncIterator]() {
        const it = Reflect.apply(make, r, []) as Iter;
        return {
          next: () => {
            const a = new Awaited(q, null, it, close);
            return hub.wait(K_QUERY, a, HANDLER, a);
          },
          return: () => it.return(),
        };
      },
    };
  };
}

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
    learnConnection(this as unknown as HeldQuery);
    return outside(original, this);
  };
}

/** The row of one build's `query.js` (each its own wrap owner, as the table reverts by row). */
function row(module: string): ModulePatch {
  const owner = `module:${module}`;
  return {
    module,
    implements: { promise: ['Query.prototype.then', 'Query.prototype.cursor'], handle: ['Query.prototype.handle'] },
    patch(exports) {
      const Query = (exports as { Query?: unknown }).Query;
      if (typeof Query !== 'function') return;
      const proto = (Query as { prototype: object }).prototype;
      // Each build has its own CLOSE marker (query.js exports it), compared by identity.
      const close = (exports as { CLOSE?: unknown }).CLOSE;
      wrap(proto, 'then', thenWrapper, owner);
      wrap(proto, 'handle', handleWrapper, owner);
      if (close !== undefined) wrap(proto, 'cursor', (o: AnyFunction) => cursorWrapper(o, close), owner);
    },
  };
}

/** The two builds' `query.js`: the ES module (`import`) and the CommonJS one (`require`). */
export const postgresPatches: readonly ModulePatch[] = [row('postgres/src/query.js'), row('postgres/cjs/src/query.js')];
