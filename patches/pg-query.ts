/**
 * The machinery of the pg integration: a query submitted on a `pg.Client` with a callback
 * greenio owns, and its cancellation. A query not yet sent is taken out of the client's
 * queue; a running one is cancelled on the server by a cancel request (the backend's
 * processID/secretKey, sent on a second connection as libpq does), and the client sends
 * nothing more until that request is done, so a late cancel can never hit the next
 * statement. Limits: a pipelined client's sent queries cannot be cancelled one by one
 * (their late results are dropped); a client without a backend key (a proxy) neither.
 */
import { connect as netConnect } from 'node:net';
import type { AnyFunction } from '../src/internal/wrap.js';
import { sqlText } from './pg-sql-text.js';
import { outside, warnNotCancelled } from './client-ops.js';

/** The pg.Client fields the integration reads (pg 8). */
export interface PgClient {
  host?: string;
  port?: number;
  processID: number | null;
  secretKey: number | Buffer | null;
  pipeline?: boolean;
  _queryQueue: unknown[];
  _sentQueryQueue?: unknown[];
  _activeQuery?: unknown;
  activeQuery?: unknown;
  _pulseQueryQueue(): void;
  once(event: string, fn: (...a: unknown[]) => void): unknown;
  removeListener(event: string, fn: (...a: unknown[]) => void): unknown;
}

export type Done = (err: unknown, res?: unknown) => void;

/** One query in flight, as greenio sees it. */
export interface Submitted {
  client: PgClient;
  query: unknown;
  done: Done;
  cancelled: boolean;
}

/** A query taken out of the client's queue before it was sent: done() gets this. */
export const NOT_SENT = new Error('pg query cancelled before it was sent');

/** Per client, how many cancel requests are in flight: its queue waits for them. */
export const kHold = Symbol('greenio.pgHold');
type Held = PgClient & { [kHold]?: number };

/** True when the server answered (an SQL error: the connection is fine). */
export function isServerError(err: unknown): boolean {
  return err === NOT_SENT || (err instanceof Error && /^[0-9A-Z]{5}$/.test(String((err as { code?: unknown }).code)));
}

function activeOf(c: PgClient): unknown {
  return '_activeQuery' in c ? c._activeQuery : c.activeQuery;
}

/**
 * Call pg's own `query(config, values, done)` and find the Query it made: queued, made
 * active at once, or (pipeline) sent. It runs in the caller's context: a query on an
 * open connection starts no handle of its own (a `query_timeout` timer, if set, is the
 * caller's, which is right: it times the caller's query).
 */
export function submit(original: AnyFunction, client: PgClient, config: unknown, values: unknown, done: Done): Submitted {
  const s: Submitted = { client, query: null, done, cancelled: false };
  const qlen = client._queryQueue.length;
  const slen = client._sentQueryQueue?.length ?? 0;
  const active = activeOf(client);
  original.call(client, config, values, done);
  const now = activeOf(client);
  if (now !== active && now != null) s.query = now;
  else if (client._queryQueue.length > qlen) s.query = client._queryQueue[client._queryQueue.length - 1];
  else if ((client._sentQueryQueue?.length ?? 0) > slen) s.query = client._sentQueryQueue![client._sentQueryQueue!.length - 1];
  return s;
}

/** What a cancel did, for the op's detail and the tests. */
export type CancelResult = 'not-sent' | 'server' | 'dropped';

/** Cancel a submitted query; its late result, if any, is for `done` to drop. */
export function cancel(s: Submitted): CancelResult {
  if (s.cancelled) return 'dropped';
  s.cancelled = true;
  const c = s.client;
  const i = s.query === null ? -1 : c._queryQueue.indexOf(s.query);
  if (i >= 0) {
    c._queryQueue.splice(i, 1);
    process.nextTick(s.done, NOT_SENT);
    return 'not-sent';
  }
  if (s.query !== null && activeOf(c) === s.query && whyNotCancellable(s) === null) {
    sendCancel(c);
    return 'server';
  }
  return 'dropped';
}

/**
 * Why a submitted query that has not answered yet cannot be cancelled on the server (it
 * then runs to its end and its result is dropped); null when it can be, or was never sent.
 */
export function whyNotCancellable(s: Submitted): string | null {
  const c = s.client;
  if (s.query === null || c._queryQueue.includes(s.query)) return null;
  // A cancel request aims at the backend, not a query: with others sent behind it, it
  // could end one of those instead.
  if (c.pipeline === true && (c._sentQueryQueue?.length ?? 0) > 0) return 'the client pipelines its queries';
  if (c.processID == null || c.secretKey == null) return 'the server gave no cancel key';
  return null;
}

function cancelPacket(pid: number, key: number | Buffer): Buffer {
  const keyLen = typeof key === 'number' ? 4 : key.length;
  const b = Buffer.alloc(12 + keyLen);
  b.writeInt32BE(12 + keyLen, 0);
  b.writeInt32BE(80877102, 4);
  b.writeInt32BE(pid, 8);
  if (typeof key === 'number') b.writeInt32BE(key, 12);
  else key.copy(b, 12);
  return b;
}

/**
 * Send the cancel request on a connection of its own (opened per cancel: a cancel is
 * rare, and a kept one would hold a server slot and outlive a pool nobody ends). The
 * client's queue is held until the server closes that connection: it has signalled the
 * backend by then, so the cancel lands on the cancelled query or on an idle backend
 * (which ignores it), never on the next statement.
 */
function sendCancel(c: Held): void {
  c[kHold] = (c[kHold] ?? 0) + 1;
  const packet = cancelPacket(c.processID!, c.secretKey!);
  const host = c.host ?? 'localhost';
  // Outside any greenlet: the side connection belongs to nobody, so no kill closes it.
  const sock = outside(() =>
    host.startsWith('/') ? netConnect(`${host}/.s.PGSQL.${c.port ?? 5432}`) : netConnect(c.port ?? 5432, host));
  sock.setTimeout(10_000, () => sock.destroy());
  sock.on('error', (e) => {
    // The query then runs to its end on the server (its result is dropped): said once per failure.
    warnNotCancelled('cancel a pg query', 'GREENIO_PG_CANCEL', e);
  });
  sock.once('connect', () => sock.end(packet));
  sock.resume();
  sock.once('close', () => {
    const left = (c[kHold] ?? 1) - 1;
    c[kHold] = left;
    if (left === 0) c._pulseQueryQueue();
  });
}

/** The `_pulseQueryQueue` of a client with a cancel in flight does nothing. */
export function holdWrapper(original: AnyFunction): AnyFunction {
  return ({ _pulseQueryQueue(this: Held) {
    if ((this[kHold] ?? 0) > 0) return undefined;
    return original.call(this); // it takes no arguments: none made per call
  } })._pulseQueryQueue;
}

/** The op's detail: the statement (never its values, nor its literals), cut to 80. */
export function statementOf(config: unknown): string {
  let text: unknown = config;
  if (config !== null && typeof config === 'object') text = (config as { text?: unknown; name?: unknown }).text ?? (config as { name?: unknown }).name;
  return typeof text === 'string' ? sqlText(text, 'pg') : '';
}
