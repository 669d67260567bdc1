/**
 * The pg integration (rows of the `pg` client patch): `Client.query`, `Client.connect`,
 * `Pool.connect` and `Pool.query` are ops of the greenlet that calls them, whoever
 * opened the connection (`pg.query SELECT pg_sleep($1)`, never the values). A kill or a
 * timeout cancels a running query on the server (pg-query.ts) and leaves the client and
 * the pool usable; the connections themselves belong to nobody, so no greenlet's death
 * closes them. A Submittable (pg-cursor, pg-query-stream) is an op too (pg-submittable.ts).
 * Limit: pg-native (`pg.native`, libpq) is not covered.
 */
import * as hub from '../src/hub/index.js';
import { wrap, type AnyFunction } from '../src/internal/wrap.js';
import type { ModulePatch } from './patch.js';
import { callbackHandler, notCancelled, outside, trackOrRefuse, type NotedHandler } from './client-ops.js';
import { querySubmittable } from './pg-submittable.js';
import { timerPass } from './timers.js';
import { cancel, holdWrapper, isServerError, statementOf, submit, whyNotCancellable, type Done, type PgClient, type Submitted } from './pg-query.js';

const K_QUERY = hub.kind('pg.query');
const K_CONNECT = hub.kind('pg.connect');
const CLIENT = 'pg/lib/client.js';
const POOL = 'pg-pool';

// Set while greenio's own code calls a wrapped method (Pool.query's connect, the pool's
// own Client.connect): those calls are parts of an op already, not ops of their own.
let bypass = 0;

type Client = PgClient & {
  connection?: { stream?: { destroy(): void } };
  end(): unknown;
  release?: (err?: unknown) => void;
};

/** One op: a query or a connect, on a client or a pool. */
class State {
  op: hub.Op | null = null;
  cancelled = false;
  /** The query once submitted on a client. */
  sub: Submitted | null = null;
  /** Settles the op with pg's answer; a cancelled op's late answer is dropped. */
  readonly done: Done = (err, res) => {
    if (this.cancelled) return;
    const op = this.op!;
    if (this.cb === null) {
      if (err) op.reject(err);
      // Nobody touches the op after this (a cancelled op's answer stops above): the hub
      // reuses it for a later wait, as a Channel's hand-off does.
      else hub.handOver(op, res);
    } else if (op.end()) {
      this.cb(err, res);
    }
  };

  constructor(
    /** The user's callback (callback style), else null (promise style). */
    readonly cb: AnyFunction | null,
    readonly self: Client | Pool,
    readonly original: AnyFunction,
    readonly config: unknown,
    readonly values: unknown,
    readonly runner: (st: State) => void,
  ) {}
}

function abort(st: State): void {
  st.cancelled = true;
  if (st.sub !== null) cancel(st.sub);
  else if (st.runner === runConnect) (st.self as Client).end(); // pg's own path: a half-open client is closed
}

// What an interrupt leaves running on the server: a query no cancel request can reach.
function note(op: hub.Op): string | undefined {
  const st = op.data as State;
  const why = st.sub === null || st.cancelled ? null : whyNotCancellable(st.sub);
  return why === null ? undefined : notCancelled(why);
}

// Promise style: a hub wait.
const WAIT: NotedHandler = {
  start(op) {
    const st = op.data as State;
    st.op = op;
    st.runner(st);
  },
  cancel(op) {
    abort(op.data as State);
  },
  note,
};

// Callback style: a tracked op (client-ops.ts: the callback gets the interrupt's error once).
const TRACKED = callbackHandler<State>(abort, note);

/** Run `st` as an op of the current flow, promise or callback style. */
function start(kind: hub.Kind, detail: unknown, st: State): unknown {
  if (st.cb === null) return hub.wait(kind, detail, WAIT, st);
  st.op = trackOrRefuse(kind, detail, TRACKED, st, st.cb);
  if (st.op !== null) st.runner(st);
  return undefined;
}

function runQuery(st: State): void {
  st.sub = submit(st.original, st.self as Client, st.config, st.values, st.done);
}

function clientQuery(original: AnyFunction): AnyFunction {
  return ({ query(this: Client, config: unknown, values: unknown, callback: unknown) {
    // pg's query reads its parameters, never `arguments`: the pool's own call (bypass) makes none.
    if (bypass > 0 || config == null) return original.call(this, config, values, callback);
    if (typeof (config as { submit?: unknown }).submit === 'function') return querySubmittable(original, this, arguments);
    const cb = typeof callback === 'function' ? callback : typeof values === 'function' ? values : (config as { callback?: unknown }).callback;
    const st = new State(typeof cb === 'function' ? (cb as AnyFunction) : null, this, original, config, typeof values === 'function' ? undefined : values, runQuery);
    return start(K_QUERY, statementOf(config), st);
  } }).query;
}

function runConnect(st: State): void {
  // Outside the greenlet: the connection is the client's, not the caller's, so the
  // caller's death does not destroy it under the client (it ends by `end()`).
  outside(st.original, st.self, (err: unknown) => st.done(err, st.self));
}

function clientConnect(original: AnyFunction): AnyFunction {
  return ({ connect(this: Client, cb: unknown) {
    // A pool connecting a client for an op: outside the greenlet, the connection is the pool's.
    if (bypass > 0) return outside(original, this, ...arguments);
    const st = new State(typeof cb === 'function' ? (cb as AnyFunction) : null, this, original, undefined, undefined, runConnect);
    return start(K_CONNECT, `${this.host ?? ''}:${this.port ?? ''}`, st);
  } }).connect;
}

type Release = (e?: unknown) => void;
type Pool = {
  connect(cb: (err: unknown, client?: Client, release?: Release) => void): unknown;
};

function runPoolConnect(st: State): void {
  outside(st.original, st.self, (err: unknown, client?: Client, release?: Release) => {
    // A client handed over after its greenlet gave up waiting goes back to the pool.
    if (st.cancelled) {
      if (client !== undefined) release?.();
      return;
    }
    const op = st.op!;
    if (st.cb !== null) {
      if (op.end()) st.cb(err, client, release);
      else if (client !== undefined) release?.();
    } else if (err) op.reject(err);
    else op.resolve(client);
  });
}

function poolConnect(original: AnyFunction): AnyFunction {
  return ({ connect(this: Pool, cb: unknown) {
    if (bypass > 0 || (cb !== undefined && typeof cb !== 'function')) return original.call(this, cb);
    return start(K_CONNECT, 'pool', new State(typeof cb === 'function' ? (cb as AnyFunction) : null, this, original, undefined, undefined, runPoolConnect));
  } }).connect;
}

/**
 * `pool.query()` as one op: wait for a client, run the query, give the client back. A
 * cancelled query's client goes back to the pool once the server has answered (pg-pool
 * would destroy a client released with an error; a cancel is no reason to).
 */
function runPoolQuery(st: State): void {
  bypass++;
  try {
    (st.self as Pool).connect((err: unknown, client?: Client) => {
      if (err) return st.done(err);
      if (st.cancelled) return client!.release!();
      onClient(st, client!);
    });
  } finally {
    bypass--;
  }
}

function poolQuery(original: AnyFunction): AnyFunction {
  return ({ query(this: Pool, text: unknown, values: unknown, cb: unknown) {
    if (bypass > 0 || text == null || typeof text === 'function' || typeof (text as { submit?: unknown }).submit === 'function') return Reflect.apply(original, this, arguments);
    const callback = typeof values === 'function' ? values : cb;
    const st = new State(typeof callback === 'function' ? (callback as AnyFunction) : null, this, original, text, typeof values === 'function' ? undefined : values, runPoolQuery);
    return start(K_QUERY, statementOf(text), st);
  } }).query;
}

function onClient(st: State, client: Client): void {
  let released = false;
  const onError = (e: unknown): void => {
    if (released) return;
    released = true;
    client.release!(e);
    st.done(e);
  };
  client.once('error', onError);
  const q = (client as unknown as { query: AnyFunction }).query;
  bypass++; // the query is this op's, not one of its own
  try {
    st.sub = submit(q, client, st.config, st.values, (err, res) => {
      client.removeListener('error', onError);
      if (released) return;
      released = true;
      client.release!(st.cancelled && isServerError(err) ? undefined : err);
      st.done(err, res);
    });
  } catch (e) {
    released = true;
    client.release!(e);
    st.done(e);
  } finally {
    bypass--;
  }
}

/**
 * pg-pool's `_release` (every release: the user's `client.release()`, pool.query's own):
 * its idle timer, set here and cleared at the client's next acquire, is the pool's, not an
 * op of whoever released (a kill of that greenlet would clear it, and the pool would never
 * close the idle client); the timers patch passes it through (timerPass).
 */
function poolRelease(original: AnyFunction): AnyFunction {
  return ({ _release(this: { options?: { idleTimeoutMillis?: unknown }; _isAboveMin?: () => boolean }, client: unknown, idleListener: unknown, err: unknown) {
    const idle = this.options?.idleTimeoutMillis;
    // Only when pg-pool will set it (its own test): else a callback this release calls
    // synchronously could have a timer of that delay passed instead.
    timerPass.delay = typeof idle === 'number' && idle > 0 && this._isAboveMin?.() !== false ? idle : timerPass.none;
    try {
      return original.call(this, client, idleListener, err);
    } finally {
      timerPass.delay = timerPass.none;
    }
  } })._release;
}

function wrapOwn(module: string, obj: object, key: string, make: (o: AnyFunction) => AnyFunction): void {
  wrap(obj, key, make, `module:${module}`);
}


/** The `pg` rows of the client table. */
export const pgPatches: readonly ModulePatch[] = [
  {
    module: CLIENT,
    implements: { promise: ['Client.prototype.query', 'Client.prototype.connect'], callback: ['Client.prototype.query', 'Client.prototype.connect'] },
    patch(exports) {
      const proto = (exports as { prototype?: Record<string, unknown> }).prototype;
      if (proto === undefined || typeof proto.query !== 'function') return;
      wrapOwn(CLIENT, proto, 'query', clientQuery);
      wrapOwn(CLIENT, proto, 'connect', clientConnect);
      wrapOwn(CLIENT, proto, '_pulseQueryQueue', holdWrapper);
    },
  },
  {
    module: POOL,
    implements: { promise: ['Pool.prototype.query', 'Pool.prototype.connect'], callback: ['Pool.prototype.query', 'Pool.prototype.connect'] },
    patch(exports) {
      const proto = (exports as { prototype?: Record<string, unknown> }).prototype;
      if (proto === undefined || typeof proto.query !== 'function') return;
      wrapOwn(POOL, proto, 'query', poolQuery);
      wrapOwn(POOL, proto, 'connect', poolConnect);
      if (typeof proto._release === 'function') wrapOwn(POOL, proto, '_release', poolRelease);
    },
  },
];
