/**
 * A mysql2 connection's handshake as an op of the greenlet that opens it
 * (`mysql.connect host:port`), as `await mysql.createConnection(config)` of
 * `mysql2/promise` runs it. A kill or timeout during the handshake fails the connection
 * with the interrupt's error (its 'error' listeners, so the promise rejects at once, and
 * its queued commands get it) and closes it. Limits: with no 'error' listener the
 * handshake runs on (nothing could be told); a pool's connections are nobody's.
 */
import * as hub from '../src/hub/index.js';
import type { NotedHandler } from './client-ops.js';

const K_CONNECT = hub.kind('mysql.connect');

/** The fields of a mysql2 connection in its handshake. */
interface Opening {
  config: { host?: string; port?: number; socketPath?: string };
  stream?: { once(ev: string, fn: () => void): unknown; destroy(): void };
  _closing?: boolean;
  _fatalError?: unknown;
  _notifyError(err: unknown): void;
  close(): void;
  on(ev: string, fn: () => void): unknown;
  listenerCount(ev: string): number;
}

function noop(): void {}

const HANDLER: NotedHandler = {
  cancel(op, reason, silent) {
    const conn = op.data as Opening;
    if (silent === true || conn.listenerCount('error') === 0 || conn._fatalError != null) return false;
    // mysql2's own failure path: queued commands get the error through their callbacks,
    // the connection through 'error' (what createConnection's promise rejects on).
    conn._closing = true;
    conn._notifyError(reason);
    conn.on('error', noop); // dead now: a late socket error has nobody to tell
    conn.close();
    conn.stream?.destroy();
    return true;
  },
};

/** Track the handshake `cmd` of `conn` as an op of the current greenlet (not of main). */
export function trackHandshake(conn: Opening, cmd: { once(ev: string, fn: () => void): unknown }): void {
  if (hub.currentFlow() === hub.main) return;
  const c = conn.config;
  const detail = c.socketPath ?? `${c.host ?? 'localhost'}:${c.port ?? 3306}`;
  // Tracked even under a pending kill (left pending: it fires at the greenlet's next
  // greenio wait): the caller's promise is not listening yet, so nothing can be refused.
  const op = hub.track(K_CONNECT, detail, HANDLER, conn);
  const end = (): void => void op.end();
  cmd.once('end', end);
  conn.stream?.once('close', end);
}
