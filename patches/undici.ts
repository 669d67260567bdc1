/**
 * The npm `undici` integration: every request made through a dispatcher (`request`,
 * `stream`, `pipeline`, `fetch`, a `Pool`, `Client`, `Agent`, or one made with
 * `compose()`) is an op of the flow that made it, `undici.request GET <url>` (redacted),
 * until its response ends; a kill or timeout aborts that request through undici's own
 * abort. The dispatcher's machinery runs detached (connections, timers, retries are the
 * main greenlet's): an idle keep-alive connection belongs to nobody. undici's `fetch` is
 * a wait like global fetch (`undici.fetch`), aborted through its dispatcher like a request
 * (patches/undici-dispatch.ts).
 * Limits: undici is patched through files inside the package (an ES-module `import` shows
 * only those); a dispatcher composed, or a `fetch` taken, before the patch is not.
 */
import * as hub from '../src/hub/index.js';
import { wrap, type AnyFunction } from '../src/internal/wrap.js';
import { fetchWrapper } from './fetch.js';
import type { ModulePatch } from './patch.js';
import { dispatchOps, dispatchWrapper, hookDispatcher, kGlobalDispatchers } from './undici-dispatch.js';

const K_FETCH = hub.kind('undici.fetch');

const BASE = 'undici/lib/dispatcher/dispatcher-base.js';
const DISPATCHER = 'undici/lib/dispatcher/dispatcher.js';
const FETCH = 'undici/lib/web/fetch/index.js';
const GLOBAL = 'undici/lib/global.js';
// The owner names under which patches/index.ts undoes a row's wraps.
const owner = (module: string): string => `module:${module}`;

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
  for (const key of kGlobalDispatchers) hookDispatcher((globalThis as Record<symbol, unknown>)[key], owner(GLOBAL));
}

/** The `undici` row of the client table (patches/clients.ts). */
export const undiciPatches: readonly ModulePatch[] = [
  {
    module: BASE,
    implements: { handle: ['DispatcherBase.prototype.dispatch'] },
    patch(exports) {
      dispatchOps.requests = true;
      const proto = protoOf(exports);
      if (proto !== undefined) wrap(proto, 'dispatch', dispatchWrapper, owner(BASE));
    },
    unpatch() {
      dispatchOps.requests = false; // a dispatch fetch hooked serves fetch only again
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
