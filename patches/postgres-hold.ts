/**
 * What keeps a postgres.js cancel request on the query it was sent for. PostgreSQL names
 * a backend in a cancel request, not a query, and it signals that backend twice (its
 * process and its process group): on a busy machine the second signal can come after
 * the cancelled query has ended and land on the connection's next query, which then
 * fails with 57014 although nobody cancelled it. So, as for pg (pg-query.ts), the
 * connection of a cancelled query takes no new query until the cancel request's side
 * connection has closed (the server has signalled by then; a signal that finds the
 * backend idle is dropped), for at most 10 s; what the pool handed it meanwhile runs
 * then. And a query interrupted during its describe round trip (postgres.js's first run
 * of a statement with parameters: Parse and Describe, then Bind and Execute once the
 * types are known) is finished as a describe only: a cancel that reaches an idle backend
 * in that gap is dropped, and the statement must not start after it.
 * How, postgres.js 3: it hands a query's `onexecute` option the connection object that
 * ran it, whose `execute` is what the pool calls; that connection is learned per backend
 * (`query.state`), and a hold swaps its `execute` for one that keeps the queries, until
 * the hold ends. postgres.js 4: a query names its connection (`query.connection`), whose
 * `send`, `simple`, `batch`, `describe` and `local` are what its pool calls; a hold keeps
 * those calls, in order, and makes them when it ends (4 halts a describe itself).
 * Limits: a postgres.js 3 connection none of whose queries has reached `onexecute` yet
 * (postgres.js skips it for a describe or a cursor, so with `fetch_types: false` a
 * connection whose first statement is killed) is not held; queries already pipelined
 * behind the cancelled one are on the wire and cannot be held; queries the pool gave
 * the held connection after the first go back through the pool when the hold ends.
 */
import { outside } from './client-ops.js';

/** The connection object of postgres.js's connection.js: what the pool calls. */
interface Conn {
  execute(q: HeldQuery): unknown;
  [kHold]?: Hold;
}

/** What a hold keeps: how many cancels it waits for, the connection's own `execute`, the queries. */
interface Hold {
  left: number;
  execute: (q: HeldQuery) => unknown;
  queries: HeldQuery[];
  /** The cancelled query's class: what a filler query is made of. */
  Query: QueryClass;
}

/** A query's options object: postgres.js calls `options.onexecute(connection)` with `this` = it. */
interface Options {
  onexecute?: (this: Options, c: Conn) => unknown;
  [kQuery]?: HeldQuery;
  [kUser]?: (this: Options, c: Conn) => unknown;
}

/** What this file reads and sets on a postgres.js `Query`. */
export interface HeldQuery {
  /** The connection's `{ pid, secret }` (one object per connection, set when it runs the query). */
  state: object | null;
  options?: Options;
  /** Set while it waits for its describe round trip (its Bind and Execute not sent yet). */
  describeFirst?: unknown;
  /** postgres.js's describe-only mode: the describe's answer ends the query. */
  onlyDescribe?: boolean;
  /** Set by postgres.js's own cancel of a query it had not sent: `execute` then skips it. */
  cancelled?: unknown;
  /** The pool's (or reserved connection's) dispatcher. */
  handler(q: HeldQuery): unknown;
  /** postgres.js 4: the connection its pool gave it (v3 has none). */
  connection?: Conn4 | null;
}

type Marked = HeldQuery & { [kGone]?: true };
/** Cancelled, by postgres.js (a query it had not sent) or by greenio: not to be run. */
const gone = (q: HeldQuery | undefined): boolean => q !== undefined && (Boolean(q.cancelled) || (q as Marked)[kGone] === true);

/** postgres.js's `Query` class (a build's own), as this file makes a query of it. */
type QueryClass = new (strings: readonly string[], args: unknown[], handler: () => void, canceller: undefined, options: object) => HeldQuery & Promise<unknown>;

const kHold = Symbol('greenio.postgresHold');
const kQuery = Symbol('greenio.postgresQuery');
const kUser = Symbol('greenio.postgresOnexecute');
const kGone = Symbol('greenio.postgresCancelled');
/** The longest a connection waits for a cancel request's side connection to close. */
const HOLD_MAX_MS = 10_000;

/** Connection per backend object: learned from `onexecute`, dropped with the connection. */
const connOf = new WeakMap<object, Conn>();

function learn(this: Options, c: Conn): unknown {
  const b = this[kQuery]?.state;
  if (b != null && connOf.get(b) !== c) connOf.set(b, c);
  const user = this[kUser];
  // postgres.js uses what `onexecute` returns as "the connection takes more": true when unset.
  return user === undefined ? true : Reflect.apply(user, this, [c]);
}

/** Have postgres.js tell `learn` the connection that runs `q` (the user's `onexecute` still runs). */
export function learnConnection(q: HeldQuery): void {
  const o = q.options;
  if (o === undefined || o === null || o.onexecute === learn) return;
  if (o.onexecute !== undefined) o[kUser] = o.onexecute;
  o.onexecute = learn;
  o[kQuery] = q;
}

/**
 * `q` is being cancelled and `request` settles once the cancel request's side
 * connection has closed: hold `q`'s connection until then, and stop `q` at its describe.
 */
export function holdWhileCancelling(q: HeldQuery, request: unknown): void {
  (q as Marked)[kGone] = true;
  const c4 = q.connection;
  if (c4 !== undefined && c4 !== null && typeof c4.send === 'function' && typeof c4.cancel === 'function') {
    if (request instanceof Promise) holdV4(c4, request);
    return;
  }
  if (q.state === null) return; // never sent: postgres.js takes it off its queue, no request
  if (q.describeFirst) q.onlyDescribe = true;
  const c = connOf.get(q.state);
  if (c === undefined || !(request instanceof Promise)) return;
  let h = c[kHold];
  if (h === undefined) {
    const own = c.execute;
    const held: Hold = { left: 0, execute: own, queries: [], Query: q.constructor as QueryClass };
    h = c[kHold] = held;
    c.execute = ({ execute(next: HeldQuery) {
      held.queries.push(next);
      return false; // "full": the pool hands it nothing more until it is open again
    } }).execute;
  }
  h.left++;
  until(request, () => release(c));
}

/** Call `end` once, when `request` settles or after HOLD_MAX_MS. */
function until(request: Promise<unknown>, end: () => void): void {
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    end();
  };
  // Outside any greenlet: the timer is the connection's, no kill may clear it.
  const timer = outside(() => setTimeout(once, HOLD_MAX_MS).unref());
  request.then(once, once);
}

function release(c: Conn): void {
  const h = c[kHold]!;
  if (--h.left > 0) return;
  c[kHold] = undefined;
  c.execute = h.execute;
  // The pool never handed it a query: its queues already say where it is.
  if (h.queries.length === 0) return;
  // Handed one, the pool moved it to "full", and only a query's end (its ReadyForQuery)
  // brings it back: the first query still wanted runs on it, the rest go back through
  // the pool. If every one was cancelled meanwhile, a `select 1` ends the wait instead.
  const live = h.queries.filter((q) => !gone(q));
  outside(h.execute, undefined, live.shift() ?? filler(h.Query));
  for (const q of live) outside(q.handler, q, q);
}

function filler(Query: QueryClass): HeldQuery {
  const q = new Query(['select 1'], [], noop, undefined, { simple: true, prepare: false });
  // Its own promise is settled by the connection: handled here (not through Query's
  // `then`, which would dispatch it to the pool).
  Reflect.apply(Promise.prototype.then, q, [noop, noop]);
  return q;
}

const noop = (): void => {};

/**
 * postgres.js 4's connection: its pool writes through these, each naming the query (for
 * `describe`, the third argument). A query knows its connection (`query.connection`).
 */
interface Conn4 {
  send(q: HeldQuery): unknown;
  simple(q: HeldQuery, text: string): unknown;
  batch(q: HeldQuery, parts: unknown): unknown;
  describe(statement: unknown, oids: unknown, q?: HeldQuery): Promise<unknown>;
  local(q: HeldQuery, error: unknown): unknown;
  cancel(q: HeldQuery): unknown;
  [kHold4]?: Hold4;
}
const V4_CALLS = ['send', 'simple', 'batch', 'local', 'describe'] as const;
type V4Call = (typeof V4_CALLS)[number];
interface Hold4 {
  left: number;
  own: Pick<Conn4, V4Call>;
  calls: Array<{ q: HeldQuery | undefined; run(): void; drop(): void }>;
}
const kHold4 = Symbol('greenio.postgres4Hold');

/**
 * postgres.js 4: what its pool writes to the connection meanwhile is kept, in order, and
 * written when the hold ends (its connection orders and pipelines it then, as it would
 * have); what greenio cancelled meanwhile is dropped.
 */
function holdV4(c: Conn4, request: Promise<unknown>): void {
  let h = c[kHold4];
  if (h === undefined) {
    const own = { send: c.send, simple: c.simple, batch: c.batch, local: c.local, describe: c.describe };
    const held: Hold4 = { left: 0, own, calls: [] };
    h = c[kHold4] = held;
    for (const name of V4_CALLS) {
      const original = own[name] as (...a: unknown[]) => unknown;
      (c as unknown as Record<string, unknown>)[name] = (...args: unknown[]): unknown => {
        const q = (name === 'describe' ? args[2] : args[0]) as HeldQuery | undefined;
        if (name !== 'describe') {
          held.calls.push({ q, run: () => void original(...args), drop: noop });
          return undefined;
        }
        return new Promise((resolve, reject) => {
          held.calls.push({
            q,
            run: () => void Promise.resolve(original(...args)).then(resolve, reject),
            drop: () => reject(new Error('canceling statement due to user request')),
          });
        });
      };
    }
  }
  h.left++;
  until(request, () => releaseV4(c));
}

function releaseV4(c: Conn4): void {
  const h = c[kHold4]!;
  if (--h.left > 0) return;
  c[kHold4] = undefined;
  Object.assign(c, h.own);
  for (const call of h.calls) outside(gone(call.q) ? call.drop : call.run);
}
