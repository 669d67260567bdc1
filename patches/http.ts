/**
 * The http/https patch: a client request (`request`, `get`) belongs to the flow that
 * made it; a kill or a Timeout destroys it (and the socket under it), the reason going
 * to its `'error'` listeners if it has any. A keep-alive socket belongs to the request
 * using it and to nobody while pooled. Servers are `net.Server`s: the net patch
 * owns their listening handle and accepted sockets. Limit: `new http.ClientRequest()`
 * made directly (not through `request`/`get`) is tracked only through its socket.
 */
import * as hub from '../src/hub.js';
import type { AnyOp } from '../src/hub.js';
import { kOp } from '../src/internal/symbols.js';
import type { AnyFunction } from '../src/internal/wrap.js';
import { destroyHandle, trackHandle, type HandleSpec } from './conventions.js';
import { patchFn, requireBuiltin, unpatchOwner, type Patch } from './patch.js';

const NAME = 'http';
const K_REQUEST = hub.kind('http.request', { resource: true });

const REQUEST: HandleSpec = { kind: K_REQUEST, abort: (req, reason, silent) => destroyHandle(req, reason, silent) };

type ClientRequest = import('node:http').ClientRequest;
type Socket = import('node:net').Socket;

function describe(req: ClientRequest): string {
  return `${req.method} ${req.protocol}//${req.host}${req.path}`;
}

// A keep-alive socket is lent by its Agent: it belongs to the request using it (taken
// over on 'socket'), and to nobody while it waits in the Agent's pool ('free').
function onSocket(this: ClientRequest, sock: Socket): void {
  const op = (sock as unknown as Record<symbol, AnyOp | undefined>)[kOp];
  if (op === undefined) return;
  hub.adopt(op);
  if (!sock.listeners('free').includes(onFree)) sock.on('free', onFree);
}
function onFree(this: Socket): void {
  const op = (this as unknown as Record<symbol, AnyOp | undefined>)[kOp];
  if (op !== undefined) hub.adopt(op, hub.main);
}

function requestWrapper(original: AnyFunction): AnyFunction {
  return ({ wrapper(this: unknown) {
    const pending = hub.takePending(hub.currentFlow());
    const req = Reflect.apply(original, this, arguments) as ClientRequest;
    trackHandle(req, describe(req), REQUEST);
    req.once('socket', onSocket);
    if (pending !== null) process.nextTick(() => destroyHandle(req, pending));
    return req;
  } }).wrapper;
}

let active = false;

export const httpPatch: Patch = {
  name: NAME,
  modules: ['http', 'https'],
  implements: {
    handle: ['http.request', 'http.get', 'https.request', 'https.get'],
  },
  patch() {
    if (active) return;
    active = true;
    for (const mod of ['http', 'https'] as const) {
      const m = requireBuiltin(`node:${mod}`) as typeof import('node:http');
      patchFn(NAME, mod, 'request', m, 'request', requestWrapper);
      patchFn(NAME, mod, 'get', m, 'get', requestWrapper);
    }
  },
  unpatch() {
    if (!active) return;
    active = false;
    unpatchOwner(NAME);
  },
};
