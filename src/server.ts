/**
 * `StreamServer` (gevent.server.StreamServer): each TCP connection served in its own
 * greenlet, optionally bounded by a `Pool`. The greenlet owns its socket: a kill destroys
 * it, and it is closed when the handler is done, as in gevent. `stop()` stops accepting,
 * waits for handlers, then kills the rest. Limits: TCP only (no TLS, no Unix sockets); an
 * event-style handler must return a promise of its end (e.g. `once(socket, 'close')`).
 * This file starts, serves forever and stops; a connection's greenlet is in
 * server-connection.ts.
 */
import type { AddressInfo, Server, Socket } from 'node:net';
import * as hub from './hub/index.js';
import type { AnyOp, Op, OpHandler } from './hub/index.js';
import { Greenlet, spawn } from './greenlet.js';
import { acceptLoop, serveConnection } from './server-connection.js';
import { Pool } from './pool/pool.js';
import { joinAll } from './wait.js';
import { originalSetImmediate } from './internal/originals.js';
import { checkInt, checkOptions, checkTimeout, expected } from './internal/validate.js';
import { GreenioError, GreenletExit } from './errors.js';

const K_START = hub.kind('server.start');
const K_STOP = hub.kind('server.stop');
const K_SERVE = hub.kind('server.serveForever');

/** Where a connection comes from (`socket.remoteAddress` and friends). */
export interface RemoteAddress {
  address: string;
  port: number;
  family: string;
}

/** Serves one connection; the connection is closed when it is done. */
export type StreamHandler = (socket: Socket, address: RemoteAddress) => unknown;

/** Options of `new StreamServer()`. */
export interface StreamServerOptions {
  /** Bound the handlers running at once: a `Pool`, or a capacity for a new one (default: unbounded). */
  spawn?: Pool | number;
  /** The listen backlog (Node's default: 511). */
  backlog?: number;
}

const enum S {
  Created = 0,
  Starting = 1,
  Serving = 2,
  Stopping = 3,
}

const DEFAULT_STOP_TIMEOUT = 1000;
const noop = (): void => {};

/**
 * A TCP server that runs `handler(socket, address)` in a new greenlet per connection.
 * @example
 * import { StreamServer } from 'greenio';
 * const server = new StreamServer({ host: '127.0.0.1', port: 0 }, async (socket) => {
 *   for await (const chunk of socket) socket.write(chunk); // echo until the client ends
 * });
 * await server.start();
 * console.log(server.address?.port);
 * await server.stop();
 */
export class StreamServer {
  /** The function that serves each connection. */
  readonly handler: StreamHandler;
  readonly #host: string | undefined;
  readonly #port: number;
  readonly #backlog: number | undefined;
  readonly #pool: Pool | null;
  #state = S.Created;
  #server: Server | null = null;
  #starting: Promise<void> | null = null;
  #stopper: Greenlet<void> | null = null;
  /** @internal Sockets being served, and their greenlets. */
  readonly _live = new Map<Socket, Greenlet>();
  /** @internal Every accepted socket not closed yet (served, queued, or closing after its handler). */
  readonly _socks = new Set<Socket>();
  /** @internal With a pool: accepted sockets waiting for a slot, and the greenlet handing them out. */
  readonly _pending: Socket[] = [];
  /** @internal */ _acceptOp: Op<Socket> | null = null;
  #acceptor: Greenlet | null = null;
  /** @internal Greenlets waiting for handlers to finish (stop) or for the stop (serveForever). */
  readonly _idleOps: AnyOp[] = [];
  /** @internal */ readonly _stopOps: AnyOp[] = [];

  constructor(listen: number | { host?: string; port: number }, handler: StreamHandler, options?: StreamServerOptions) {
    if (typeof listen === 'number') {
      this.#port = checkPort(listen);
      this.#host = undefined;
    } else if (typeof listen === 'object' && listen !== null) {
      this.#port = checkPort(listen.port);
      if (listen.host !== undefined && typeof listen.host !== 'string') throw new TypeError(expected('listen.host', 'a string', listen.host));
      this.#host = listen.host;
    } else {
      throw new TypeError(expected('listen', 'a port number or { host, port }', listen));
    }
    if (typeof handler !== 'function') throw new TypeError(expected('handler', 'a function', handler));
    this.handler = handler;
    const o = checkOptions('options', options);
    if (o.backlog !== undefined) checkInt('backlog', o.backlog, 1);
    this.#backlog = o.backlog as number | undefined;
    const sp = o.spawn;
    if (sp === undefined || sp === null) this.#pool = null;
    else if (sp instanceof Pool) this.#pool = sp;
    else if (typeof sp === 'number') {
      checkInt('spawn', sp, 1);
      this.#pool = new Pool(sp);
    } else throw new TypeError(expected('spawn', 'a Pool or a capacity (an integer >= 1)', sp));
  }

  /** The address it listens on (with the actual port when it was 0), once started. */
  get address(): AddressInfo | null {
    const a = this.#server?.address();
    return a !== null && typeof a === 'object' ? a : null;
  }

  /** True from `start()` until `stop()`. */
  get started(): boolean {
    return this.#state === S.Starting || this.#state === S.Serving;
  }

  /** True when it does not accept connections (not started, or stopped). */
  get closed(): boolean {
    return this.#state !== S.Serving;
  }

  /** The pool bounding its handlers, if any. */
  get pool(): Pool | null {
    return this.#pool;
  }

  /**
   * Start listening; resolves once it accepts connections (rejects with the listen error,
   * such as `EADDRINUSE`). A hub wait. Calling it again while started gives the same promise.
   */
  start(): Promise<void> {
    if (this.#state === S.Stopping) return Promise.reject(new GreenioError('the server is stopping; start it again once stop() resolved', 'GREENIO_SERVER_STOPPING'));
    if (this.#starting !== null) return this.#starting;
    const net = process.getBuiltinModule('node:net');
    const server = net.createServer((sock) => this.#onConnection(sock));
    // Closed from outside (cluster's disconnect, a kill of the greenlet that started it
    // under the net patch): stop as stop() would, so serveForever() returns.
    const close = server.close;
    server.close = (cb?: (err?: Error) => void): Server => {
      if (this.#server === server && this.#state === S.Serving) this._beginStop(DEFAULT_STOP_TIMEOUT);
      return close.call(server, cb);
    };
    server.on('error', (e) => {
      // Errors after listening (EMFILE on accept) must not crash the process.
      if (this.#state === S.Serving) process.stderr.write(`greenio: StreamServer ${describeAddress(this.address)} error: ${e.stack ?? e}\n`);
    });
    this.#server = server;
    this.#state = S.Starting;
    this.#starting = hub.wait<void>(K_START, this, START, this).then(
      () => {
        if (this.#state !== S.Starting) {
          server.close(); // stop() came while it was starting
          return;
        }
        this.#state = S.Serving;
        if (this.#pool !== null) this.#acceptor = hub.outside(() => spawn(acceptLoop, this, this.#pool!));
      },
      (e: unknown) => {
        this.#reset();
        throw e;
      },
    );
    return this.#starting;
  }

  /** @internal */
  _listen(op: AnyOp): void {
    const server = this.#server!;
    const onError = (e: Error): void => op.reject(e);
    server.once('error', onError);
    server.listen({ port: this.#port, host: this.#host, backlog: this.#backlog }, () => {
      server.off('error', onError);
      op.resolve(undefined);
    });
  }

  /** @internal An interrupted start: close what was opened. */
  _abortStart(): void {
    this.#server?.close();
  }

  /**
   * Start if needed, then wait until the server is stopped (a hub wait). If the waiting
   * greenlet is killed, the server is stopped (gevent's `serve_forever`).
   */
  async serveForever(): Promise<void> {
    await this.start();
    if (this.#state !== S.Serving) return;
    await hub.wait<void>(K_SERVE, this, SERVE, this);
  }

  /**
   * Stop accepting, wait up to `timeout` ms (default 1000) for running handlers, then
   * kill the rest (their sockets are destroyed and their `finally` blocks run); resolves
   * once every connection is closed. Queued connections (pool full) are closed unserved.
   */
  stop(timeout?: number): Promise<void> {
    const ms = checkTimeout('timeout', timeout) ?? (timeout === undefined ? DEFAULT_STOP_TIMEOUT : undefined);
    const g = this._beginStop(ms);
    return g === null ? Promise.resolve() : g.get();
  }

  /**
   * @internal The stop runs in a greenlet of its own: a caller of `stop()` that is
   * killed stops waiting for it, and the server still stops.
   */
  _beginStop(ms: number | undefined): Greenlet<void> | null {
    if (this.#stopper !== null) return this.#stopper;
    if (this.#state === S.Created) return null;
    this.#state = S.Stopping;
    this.#stopper = hub.outside(() => spawn(() => this.#stop(ms)));
    return this.#stopper;
  }

  async #stop(ms: number | undefined): Promise<void> {
    const server = this.#server!;
    const closed = new Promise<void>((r) => server.close(() => r()));
    try {
      if (this.#acceptor !== null) await this.#acceptor.kill(undefined, { block: false });
      for (const s of this._pending.splice(0)) s.destroy();
      if (this._live.size > 0 && ms !== 0) await hub.wait<void>(K_STOP, this, DRAIN, this, ms);
      const rest = [...this._live];
      if (rest.length > 0) {
        const err = new GreenletExit('the server stopped');
        for (const [sock, g] of rest) {
          sock.destroy(err);
          void g.kill(err, { block: false });
        }
        await joinAll(rest.map(([, g]) => g));
      }
      // Handlers are done: close what is left (sockets still flushing their last writes).
      for (const sock of this._socks) sock.destroy();
      // Node frees the listening handle a loop phase after 'close': resolve once it is gone.
      await hub.waitFor<void>(K_STOP, this, (resolve) => void closed.then(() => originalSetImmediate(() => originalSetImmediate(resolve))));
    } finally {
      this.#reset();
      for (const op of this._stopOps.splice(0)) op.resolve(undefined);
    }
  }

  #reset(): void {
    this.#state = S.Created;
    this.#server = null;
    this.#starting = null;
    this.#stopper = null;
    this.#acceptor = null;
  }

  #onConnection(sock: Socket): void {
    sock.on('error', noop); // a connection error goes to the handler's reads, never crashes the server
    this._socks.add(sock);
    sock.once('close', () => this._socks.delete(sock));
    if (this.#state !== S.Serving) {
      sock.destroy();
      return;
    }
    if (this.#pool === null) {
      this._live.set(sock, spawn(serveConnection, this, sock));
      return;
    }
    const op = this._acceptOp;
    if (op !== null) {
      this._acceptOp = null;
      op.resolve(sock);
    } else {
      this._pending.push(sock);
    }
  }

  /** @internal A handler is done with `sock`. */
  _done(sock: Socket): void {
    this._live.delete(sock);
    if (this._live.size === 0) for (const op of this._idleOps.splice(0)) op.resolve(undefined);
  }

  /** For run-info: `StreamServer 127.0.0.1:8000`. */
  describe(): string {
    return `StreamServer ${describeAddress(this.address) || `${this.#host ?? ''}:${this.#port}`}`;
  }

  toString(): string {
    return `<${this.describe()} ${['created', 'starting', 'serving', 'stopping'][this.#state]}, ${this._live.size} connection(s)>`;
  }
}

function checkPort(port: unknown): number {
  checkInt('port', port, 0);
  if (port > 65535) throw new RangeError(expected('port', 'an integer from 0 to 65535', port));
  return port;
}

function describeAddress(a: AddressInfo | null): string {
  return a === null ? '' : a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

const START: OpHandler<void> = {
  start(op) {
    (op.data as StreamServer)._listen(op);
  },
  cancel(op) {
    (op.data as StreamServer)._abortStart();
  },
};

const DRAIN: OpHandler<void> = {
  start(op) {
    const s = op.data as StreamServer;
    if (s._live.size === 0) op.resolve(undefined);
    else s._idleOps.push(op);
  },
  cancel(op) {
    const q = (op.data as StreamServer)._idleOps;
    const i = q.indexOf(op);
    if (i >= 0) q.splice(i, 1);
  },
  timeout(op) {
    DRAIN.cancel!(op, new Error('timeout'));
    op.resolve(undefined); // the stop timeout: kill the rest
  },
};

const SERVE: OpHandler<void> = {
  start(op) {
    (op.data as StreamServer)._stopOps.push(op);
  },
  cancel(op) {
    const s = op.data as StreamServer;
    const i = s._stopOps.indexOf(op);
    if (i >= 0) s._stopOps.splice(i, 1);
    s._beginStop(DEFAULT_STOP_TIMEOUT); // the greenlet serving forever was killed: stop serving
  },
};
