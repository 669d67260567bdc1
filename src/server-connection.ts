/**
 * A `StreamServer`'s connections: each served in a greenlet that owns its socket (a kill
 * destroys it, with the reason reaching the handler's reads; it is closed once the
 * handler is done), and, with a pool, the loop that hands queued connections to the pool
 * as slots free up. It knows the server only through `Served` (server.ts implements it):
 * listening, stopping and the server's state are not here.
 */
import type { Socket } from 'node:net';
import * as hub from './hub/index.js';
import type { Op, OpHandler } from './hub/index.js';
import { Greenlet, getCurrent } from './greenlet.js';
import type { Pool } from './pool/pool.js';
import { kOp } from './internal/symbols.js';

const K_ACCEPT = hub.kind('server.accept');
const K_CONN = hub.kind('server.connection', true);

/**
 * What the connections need of their server (StreamServer, structurally: naming this
 * type in the public class would put an internal file in the published declarations).
 */
export interface Served {
  readonly handler: (socket: Socket, address: { address: string; port: number; family: string }) => unknown;
  readonly _live: Map<Socket, Greenlet>;
  readonly _pending: Socket[];
  _acceptOp: Op<Socket> | null;
  _done(sock: Socket): void;
}

// One greenlet per connection. The socket is the greenlet's: a kill destroys it (the
// reason reaches the handler's reads), and it is closed once the handler is done.
export async function serveConnection(server: Served, sock: Socket): Promise<void> {
  server._live.set(sock, getCurrent());
  // Under the net patch the accepted socket is already tracked (by whoever listened):
  // hand that op to this greenlet rather than tracking the socket twice.
  const patched = (sock as unknown as Record<symbol, hub.AnyOp | undefined>)[kOp];
  if (patched !== undefined && !patched.settled) {
    hub.adopt(patched);
  } else {
    const op = hub.track<void>(K_CONN, sock.remoteAddress ? `${sock.remoteAddress}:${sock.remotePort}` : '', CONN, sock);
    sock.once('close', () => op.end());
  }
  let ok = false;
  try {
    await server.handler(sock, { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0, family: sock.remoteFamily ?? '' });
    ok = true;
  } finally {
    if (sock.destroyed) {
      // nothing to close
    } else if (ok) {
      sock.end(() => sock.destroy()); // flush what the handler wrote, then close
    } else {
      sock.destroy();
    }
    server._done(sock);
  }
}

// With a pool: hands queued connections to the pool, one by one, as slots free up.
export async function acceptLoop(server: Served, pool: Pool): Promise<void> {
  for (;;) {
    const sock = await hub.wait<Socket>(K_ACCEPT, server, ACCEPT, server);
    if (sock.destroyed) continue; // the client gave up while it waited
    let g: Greenlet;
    try {
      g = await pool.spawn(serveConnection, server, sock);
    } catch (e) {
      sock.destroy(); // stopped while it waited for a slot: it is never served
      throw e;
    }
    server._live.set(sock, g);
  }
}

const ACCEPT: OpHandler<Socket> = {
  start(op) {
    const s = op.data as Served;
    const next = s._pending.shift();
    if (next !== undefined) op.resolve(next);
    else s._acceptOp = op;
  },
  cancel(op) {
    const s = op.data as Served;
    if (s._acceptOp === op) s._acceptOp = null;
  },
};

const CONN: OpHandler<void> = {
  cancel(op, reason) {
    const sock = op.data as Socket;
    if (sock.destroyed) return false;
    sock.destroy(reason); // our no-op 'error' listener keeps this from crashing
    return sock.listenerCount('error') > 1;
  },
};
