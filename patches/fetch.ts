/**
 * The fetch patch: global `fetch()` is a wait of the current flow; a kill or Timeout
 * aborts the request natively (an AbortSignal is given to each call that has none of its
 * own) and so also stops a body being read. Reading the body (`text()`, `json()`,
 * `arrayBuffer()`, `blob()`, `bytes()`, `formData()`) is a wait too.
 * A connection opened for a request belongs to the requesting greenlet while the
 * request is in flight (a kill destroys it, whatever Node's undici does on abort), and
 * to nobody once answered: back in fetch's keep-alive pool, another greenlet may reuse
 * it, and the first one's death must not close it.
 * Limit: a call that passes its own `signal` is aborted by greenio only by dropping its
 * result; the request itself runs until that signal or the server ends it.
 */
import * as hub from '../src/hub.js';
import type { AnyFunction } from '../src/internal/wrap.js';
import { promiseWrapper } from './conventions.js';
import { patchFn, unpatchOwner, type Patch } from './patch.js';

const NAME = 'fetch';
const K_FETCH = hub.kind('fetch');
const K_BODY = hub.kind('fetch.body');
const BODY = ['arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text'] as const;
const kAbort = Symbol('greenio.fetchAbort');

function withSignal(args: unknown[], signal: AbortSignal): unknown[] | undefined {
  const init = args[1];
  if (init !== undefined && init !== null && (typeof init !== 'object' || 'signal' in init)) return undefined;
  const input = args[0];
  if (input instanceof Request) return undefined; // a Request carries its own signal
  return [input, { ...(init as object | undefined), signal }, ...args.slice(2)];
}

function urlOf(input: unknown): string {
  if (typeof input === 'string') return input;
  if (input instanceof URL) return input.href;
  if (input instanceof Request) return input.url;
  return '';
}

/**
 * `original`, run in a flow of its own within the caller's: what it opens (the
 * connection) is the caller's while the request is in flight, and is handed to nobody
 * (the main greenlet) once the response or the error has arrived.
 */
function lend(original: AnyFunction): AnyFunction {
  return ({
    fetch(this: unknown) {
      const flow = hub.Flow.sub(hub.currentFlow());
      const p = hub.als.run(flow, Reflect.apply, original, this, arguments) as unknown;
      if (p instanceof Promise) p.then(() => release(flow), () => release(flow));
      return p;
    },
  }).fetch;
}

function release(flow: hub.Flow): void {
  for (const op of hub.opsOfFlow(flow)) if (op.kind.resource) hub.adopt(op, hub.main);
}

let active = false;

export const fetchPatch: Patch = {
  name: NAME,
  modules: ['fetch'],
  implements: {
    promise: ['fetch', ...BODY.map((m) => `Response.prototype.${m}`)],
  },
  patch() {
    if (active || typeof globalThis.fetch !== 'function') return;
    active = true;
    patchFn(NAME, 'global', 'fetch', globalThis, 'fetch', (original) => promiseWrapper({
      kind: K_FETCH,
      detail: (a) => urlOf(a[0]),
      withSignal,
      // The response remembers how to abort its request, for its body methods.
      onValue: (res, ac) => {
        if (ac !== null && res instanceof Response) Object.defineProperty(res, kAbort, { value: ac, configurable: true });
      },
    })(lend(original)));
    for (const m of BODY) {
      patchFn(NAME, 'global', `Response.prototype.${m}`, Response.prototype, m, promiseWrapper({
        kind: K_BODY,
        detail: (_a, self) => (self as Response).url,
        abortSelf: (self, reason) => (self as { [kAbort]?: AbortController })[kAbort]?.abort(reason),
      }));
    }
  },
  unpatch() {
    if (!active) return;
    active = false;
    unpatchOwner(NAME);
  },
};
