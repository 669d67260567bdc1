/**
 * The npm `undici` integration: every request made through a dispatcher (`request`,
 * `stream`, `pipeline`, `fetch`, a `Pool`, `Client`, `Agent`, or one made with
 * `compose()`) is an op of the flow that made it, `undici.request GET <url>` (redacted),
 * until its response ends; a kill or timeout aborts that request through undici's own
 * abort. The dispatcher's machinery runs detached (connections, timers, retries are the
 * main greenlet's): an idle keep-alive connection belongs to nobody. undici's `fetch` is
 * a wait like global fetch (`undici.fetch`), aborted through its signal.
 * Limits: undici is patched through files inside the package (an ES-module `import` shows
 * only those); a dispatcher composed, or a `fetch` taken, before the patch is not.
 */
import * as hub from '../src/hub/index.js';
import { redactUrl } from '../src/internal/redact.js';
import { wrap, type AnyFunction } from '../src/internal/wrap.js';
import { detachedFlow, fetchWrapper } from './fetch.js';
import type { ModulePatch } from './patch.js';
import { REQUEST, failEarly, track, type UndiciHandler } from './undici-handler.js';

const K_REQUEST = hub.kind('undici.request');
const K_FETCH = hub.kind('undici.fetch');

const BASE = 'undici/lib/dispatcher/dispatcher-base.js';
const DISPATCHER = 'undici/lib/dispatcher/dispatcher.js';
const FETCH = 'undici/lib/web/fetch/index.js';
const GLOBAL = 'undici/lib/global.js';
// Where undici keeps its global dispatcher: `.2` from undici 8 on (which also keeps a
// `Dispatcher1Wrapper` of it under `.1`), `.1` before. Whichever undici sets it first (npm's,
// or the one inside Node, when global fetch loads it) owns it for every copy loaded after.
const kGlobalDispatchers = [Symbol.for('undici.globalDispatcher.2'), Symbol.for('undici.globalDispatcher.1')];
// The owner names under which patches/index.ts undoes a row's wraps.
const owner = (module: string): string => `module:${module}`;

let kUrl: symbol | undefined;

/** `http://127.0.0.1:8080`: the request's origin, or else the Pool's/Client's own. */
function originOf(dispatcher: object, origin: unknown): string {
  if (typeof origin === 'string') return origin.endsWith('/') ? origin.slice(0, -1) : origin;
  if (origin instanceof URL) return origin.origin;
  // A Pool or a Client keeps its origin under undici's private `kUrl` symbol.
  kUrl ??= Object.getOwnPropertySymbols(dispatcher).find((s) => s.description === 'url');
  const url = kUrl === undefined ? undefined : (dispatcher as Record<symbol, unknown>)[kUrl];
  return url instanceof URL ? url.origin : '';
}

function describeRequest(dispatcher: object, opts: { origin?: unknown; path?: unknown; method?: unknown }): string {
  const path = typeof opts.path === 'string' ? opts.path : '';
  const method = typeof opts.method === 'string' ? opts.method : 'GET';
  return `${method} ${redactUrl(`${originOf(dispatcher, opts.origin)}${path}`)}`;
}

/**
 * A dispatcher's `dispatch(opts, handler)`: the outermost call, in a greenlet's flow,
 * makes the op and wraps the handler, then runs the dispatch detached, so the nested
 * dispatches (Agent → Pool → Client), the connection it opens, and what undici does
 * later on its own (a redirect, a retry) are never counted as a second request.
 */
function dispatchWrapper(original: AnyFunction): AnyFunction {
  return ({
    dispatch(this: object, opts: unknown, handler: unknown) {
      const detached = detachedFlow();
      if (hub.storedFlow() === detached || opts === null || typeof opts !== 'object' || handler === null || typeof handler !== 'object') {
        return Reflect.apply(original, this, arguments) as unknown;
      }
      const t = track(handler as UndiciHandler);
      const op = hub.begin(K_REQUEST, describeRequest(this, opts), REQUEST, t);
      if (op instanceof Error) {
        failEarly(handler as UndiciHandler, op); // a kill or Timeout was pending
        return false; // what undici's dispatch returns for a request that failed to start
      }
      t.op = op;
      try {
        return hub.runIn(detached, Reflect.apply, original, this, [opts, t]) as unknown;
      } catch (e) {
        if (!t.op.settled) t.op.reject(e);
        throw e;
      }
    },
  }).dispatch;
}

// `compose()` returns a Proxy whose `dispatch` is the interceptor chain: that chain is the
// outermost dispatch, so a redirect's hops are one request, ended by the final response.
function composeWrapper(original: AnyFunction): AnyFunction {
  return ({
    compose(this: object) {
      const composed = Reflect.apply(original, this, arguments) as object;
      const inner = Reflect.get(composed, 'dispatch') as AnyFunction;
      if (typeof inner !== 'function') return composed;
      const tracked = dispatchWrapper(inner);
      return new Proxy(composed, { get: (t, k) => (k === 'dispatch' ? tracked : Reflect.get(t, k)) });
    },
  }).compose;
}

function protoOf(exports: unknown): object | undefined {
  const p = typeof exports === 'function' ? (exports as { prototype?: unknown }).prototype : undefined;
  return p !== null && typeof p === 'object' ? p : undefined;
}

/**
 * When Node's own undici loaded first, the global dispatcher is Node's (on Node 26 undici
 * 8's Agent under `.2`, and a wrapper of it for undici 7's API under `.1`), and npm undici's
 * `request()` dispatches there: patch the `dispatch` those dispatchers inherit too.
 */
function patchForeignGlobal(): void {
  for (const key of kGlobalDispatchers) {
    const d = (globalThis as Record<symbol, unknown>)[key];
    if (d === null || typeof d !== 'object') continue;
    for (let p = Object.getPrototypeOf(d) as object | null; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
      if (Object.prototype.hasOwnProperty.call(p, 'dispatch')) {
        wrap(p, 'dispatch', dispatchWrapper, owner(GLOBAL)); // a no-op on npm undici's own, wrapped already
        break;
      }
    }
  }
}

/** The `undici` row of the client table (patches/clients.ts). */
export const undiciPatches: readonly ModulePatch[] = [
  {
    module: BASE,
    implements: { handle: ['DispatcherBase.prototype.dispatch'] },
    patch(exports) {
      const proto = protoOf(exports);
      if (proto !== undefined) wrap(proto, 'dispatch', dispatchWrapper, owner(BASE));
    },
  },
  {
    module: DISPATCHER,
    implements: { handle: ['Dispatcher.prototype.compose'] },
    patch(exports) {
      const proto = protoOf(exports);
      if (proto !== undefined) wrap(proto, 'compose', composeWrapper, owner(DISPATCHER));
    },
  },
  {
    module: GLOBAL,
    implements: { handle: ['getGlobalDispatcher().dispatch'] },
    patch: patchForeignGlobal,
  },
  {
    module: FETCH,
    implements: { promise: ['fetch', 'Response.prototype.text', 'Response.prototype.json', 'Response.prototype.arrayBuffer'] },
    patch(exports) {
      if (exports !== null && typeof exports === 'object') {
        wrap(exports, 'fetch', fetchWrapper(K_FETCH, owner(FETCH), 'undici'), owner(FETCH));
      }
    },
  },
];
