/**
 * The net patch: a socket belongs to the flow that connected it, a server to the flow
 * that called `listen`, and an accepted socket to the flow its server's `'connection'`
 * listeners run in (a StreamServer hands it to the greenlet that serves it). A kill
 * destroys them (the reason goes to `'error'` listeners, if any). A `write`/`end` given a
 * callback is an op until the data is flushed; without one it is only a type check
 * (every packet must stay cheap). Waiting for data is a wait through the stream patch
 * (`events.once`, async iteration).
 * Limit: `net.connect({ signal })` with the caller's own signal works as in Node.
 */
import * as hub from '../src/hub/index.js';
import type { AnyFunction } from '../src/internal/wrap.js';
import { callbackWrapper, destroyHandle, trackHandle, type HandleSpec } from './conventions.js';
import { definePatch, implementsOf, patchFn, type Convention } from './patch.js';

const NAME = 'net';
const K_SOCKET = hub.kind('net.socket', { resource: true });
const K_SERVER = hub.kind('net.server', { resource: true });
const K_WRITE = hub.kind('net write');
const K_END = hub.kind('net end');

type Socket = import('node:net').Socket;
type Server = import('node:net').Server;

export const SOCKET: HandleSpec = {
  kind: K_SOCKET,
  abort: (s, reason, silent) => destroyHandle(s, reason, silent),
};

const SERVER: HandleSpec = {
  kind: K_SERVER,
  abort: (s) => {
    (s as Server).close();
    return false;
  },
};

function detailOfSocket(_args: ArrayLike<unknown>, self: unknown): unknown {
  return remote(self as Socket);
}

function remote(sock: Socket): string {
  return sock.remoteAddress ? `${sock.remoteAddress}:${sock.remotePort}` : '';
}

/**
 * Set on a socket a client integration writes its protocol on (patches/mysql2.ts): its
 * writes are part of the client's own op (the query), not `net write` ops of main.
 */
export const kClientWrites = Symbol('greenio.clientWrites');

function writeWrapper(original: AnyFunction): AnyFunction {
  const tracked = callbackWrapper({ kind: K_WRITE, detail: detailOfSocket })(original);
  // A write without a callback (every packet of an echo) is the original called directly:
  // fixed parameters, no arguments object (issue 18: greenio's JS per message).
  return ({ write(this: Socket & { [kClientWrites]?: true }, a: unknown, b: unknown) {
    const n = arguments.length;
    if (n === 1) return original.call(this, a);
    if (n === 2 && typeof b !== 'function') return original.call(this, a, b);
    return Reflect.apply(this[kClientWrites] === true ? original : tracked, this, arguments);
  } }).write;
}

function onConnection(this: Server, sock: Socket): void {
  trackHandle(sock, remote(sock), SOCKET);
}

function connectWrapper(original: AnyFunction): AnyFunction {
  return ({ wrapper(this: Socket) {
    const pending = hub.pendingInterrupt();
    const sock = Reflect.apply(original, this, arguments) as Socket;
    // net.connect() passes its normalised [options, callback] array as one argument.
    const first: unknown = Array.isArray(arguments[0]) ? (arguments[0] as unknown[])[0] : arguments[0];
    const opts = first as { port?: unknown; host?: unknown; path?: unknown } | unknown;
    const detail = typeof opts === 'object' && opts !== null
      ? ((opts as { path?: unknown }).path ?? `${(opts as { host?: unknown }).host ?? 'localhost'}:${(opts as { port?: unknown }).port}`)
      : Array.isArray(opts) ? '' : `${arguments[1] ?? 'localhost'}:${String(opts)}`;
    trackHandle(sock, detail, SOCKET);
    // A greenlet that was already killed (or whose Timeout fired) gets no connection.
    if (pending !== null) process.nextTick(() => destroyHandle(sock, pending));
    return sock;
  } }).wrapper;
}

function listenWrapper(original: AnyFunction): AnyFunction {
  return ({ wrapper(this: Server) {
    const server = Reflect.apply(original, this, arguments) as Server;
    if (!this.listeners('connection').includes(onConnection)) this.prependListener('connection', onConnection);
    trackHandle(this, typeof arguments[0] === 'number' ? arguments[0] : '', SERVER);
    return server;
  } }).wrapper;
}

// Every method it wraps, once: its calling convention, its class, its name, its wrapper.
const METHODS: readonly (readonly [Convention, 'Socket' | 'Server', string, (o: AnyFunction) => AnyFunction])[] = [
  ['handle', 'Socket', 'connect', connectWrapper],
  ['handle', 'Server', 'listen', listenWrapper],
  ['callback', 'Socket', 'write', writeWrapper],
  ['callback', 'Socket', 'end', callbackWrapper({ kind: K_END, detail: detailOfSocket })],
];

export const netPatch = definePatch({
  name: NAME, option: 'net', module: 'net', aliases: ['net', 'tls'], with: ['streams'],
  implements: implementsOf(METHODS.map(([c, cls, m]) => [c, `${cls}.prototype.${m}`] as const)),
  patch(exports) {
    const net = exports as typeof import('node:net');
    for (const [, cls, m, make] of METHODS) patchFn(NAME, 'net', `${cls}.prototype.${m}`, net[cls].prototype, m, make);
  },
});
