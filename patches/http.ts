/**
 * The http/https patch: a client request (`request`, `get`) is an op of the flow that
 * made it, `http.request GET <url>` (redacted), until it closes; a kill or a Timeout
 * destroys it (and, HTTP/1.1 leaving no other way, the socket under it), the reason going
 * to its `'error'` listeners if it has any. A keep-alive socket belongs to the request
 * using it and to nobody while pooled, whichever greenlet opened it. Servers are
 * `net.Server`s: the net patch owns their listening handle and accepted sockets.
 * Limit: `new http.ClientRequest()` made directly (not through `request`/`get`) is
 * tracked only through its socket.
 */
import { errorMonitor } from 'node:events';
import * as hub from '../src/hub/index.js';
import type { AnyOp } from '../src/hub/index.js';
import { redactUrl } from '../src/internal/redact.js';
import { kOp } from '../src/internal/symbols.js';
import type { AnyFunction } from '../src/internal/wrap.js';
import { destroyHandle, trackHandle, type HandleSpec } from './conventions.js';
import { definePatch, patchFn, requireBuiltin } from './patch.js';

const NAME = 'http';
// Not a resource: any Timeout of its flow aborts it, as it would a wait.
const K_REQUEST = hub.kind('http.request');

// Ended at 'close' by onRequestClose (not trackHandle's own `end()`): see onRequestError.
const REQUEST: HandleSpec = { kind: K_REQUEST, abort: (req, reason, silent) => destroyHandle(req, reason, silent), endEvent: null };

type ClientRequest = import('node:http').ClientRequest;
type Socket = import('node:net').Socket;

// The port, which a ClientRequest does not keep: from the URL or the options it was given.
// A URL string is scanned, not parsed (a `new URL` a request cost ~1 µs): the digits after
// the host's last `:`, as a URL would read them (`:080` is 80; none is '').
function portOf(args: ArrayLike<unknown>): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a instanceof URL) return a.port;
    if (typeof a === 'string') return portOfString(a);
    if (a !== null && typeof a === 'object' && (a as { port?: unknown }).port != null) return String((a as { port: unknown }).port);
  }
  return '';
}

/** `http://u:p@[::1]:8080/x` → `'8080'`; a string that is no absolute URL, or has no port → ''. */
export function portOfString(url: string): string {
  const start = url.indexOf('://');
  if (start < 0) return '';
  let end = start + 3;
  while (end < url.length && url[end] !== '/' && url[end] !== '?' && url[end] !== '#' && url[end] !== '\\') end++;
  const host = url.lastIndexOf('@', end - 1) + 1 || start + 3; // after any userinfo
  const colon = url.lastIndexOf(':', end - 1);
  // A colon inside an IPv6 literal's brackets is no port separator.
  if (colon < host || url.lastIndexOf(']', end - 1) > colon) return '';
  const digits = url.slice(colon + 1, end);
  return /^\d+$/.test(digits) ? String(Number(digits)) : '';
}

/** `GET http://127.0.0.1:8080/x?token=REDACTED`. */
function describe(req: ClientRequest, args: ArrayLike<unknown>): string {
  const port = portOf(args);
  const dflt = req.protocol === 'https:' ? '443' : '80';
  const host = req.host.includes(':') ? `[${req.host}]` : req.host;
  return `${req.method} ${redactUrl(`${req.protocol}//${host}${port !== '' && port !== dflt ? `:${port}` : ''}${req.path}`)}`;
}

// A keep-alive socket is lent by its Agent: it belongs to the request using it (taken
// over on 'socket', into the request's flow: the event may fire in the context of the
// request that freed the socket), and to nobody while it waits in the Agent's pool.
function onSocket(this: ClientRequest, sock: Socket): void {
  const op = (sock as unknown as Record<symbol, AnyOp | undefined>)[kOp];
  const req = (this as unknown as Record<symbol, AnyOp | undefined>)[kOp];
  if (op === undefined) return;
  hub.adopt(op, req !== undefined && !req.settled ? req.flow : hub.currentFlow());
  // A flag, not a search of its listeners: asked for each request the socket serves.
  const s = sock as unknown as Record<symbol, boolean | undefined>;
  if (s[kWatchesFree] !== true) {
    s[kWatchesFree] = true;
    sock.on('free', onFree);
  }
}
const kWatchesFree = Symbol('greenio.watchesFree');
function onFree(this: Socket): void {
  const op = (this as unknown as Record<symbol, AnyOp | undefined>)[kOp];
  if (op !== undefined) hub.adopt(op, hub.main);
}

// A request that fails (refused, reset, a parse error) ends its op with that error, so its
// end event says `error`. Through `errorMonitor`: watching, not handling, its 'error' (an
// error nobody listens to still throws, as without greenio). Its 'close' then finds the op
// settled: `end()` would count a dropped result, so the failure is remembered on the op.
const kFailed = Symbol('greenio.httpFailed');
function onRequestError(this: ClientRequest, err: Error): void {
  const op = (this as unknown as Record<symbol, AnyOp | undefined>)[kOp];
  if (op === undefined || op.settled) return; // a kill or Timeout ended it first
  (op as unknown as Record<symbol, boolean>)[kFailed] = true;
  op.reject(err);
}
function onRequestClose(this: ClientRequest): void {
  const op = (this as unknown as Record<symbol, AnyOp | undefined>)[kOp];
  if (op !== undefined && (op as unknown as Record<symbol, boolean>)[kFailed] !== true) op.end();
}

function requestWrapper(original: AnyFunction): AnyFunction {
  return ({ wrapper(this: unknown) {
    const pending = hub.pendingInterrupt();
    const req = Reflect.apply(original, this, arguments) as ClientRequest;
    trackHandle(req, describe(req, arguments), REQUEST);
    // `on`, not `once` (which makes a wrapper each): a request emits each of these once.
    req.on(errorMonitor, onRequestError);
    req.on('close', onRequestClose);
    req.on('socket', onSocket);
    if (pending !== null) process.nextTick(() => destroyHandle(req, pending));
    return req;
  } }).wrapper;
}

export const httpPatch = definePatch({
  name: NAME, option: 'http', module: 'http', aliases: ['http', 'https'],
  // A request's socket and its response body are net's and streams' to wait on.
  with: ['net', 'streams'],
  implements: {
    handle: ['http.request', 'http.get', 'https.request', 'https.get'],
  },
  patch(exports) {
    for (const [mod, m] of [['http', exports], ['https', requireBuiltin('node:https')]] as const) {
      patchFn(NAME, mod, 'request', m as object, 'request', requestWrapper);
      patchFn(NAME, mod, 'get', m as object, 'get', requestWrapper);
    }
  },
});
