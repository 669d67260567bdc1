/**
 * The fetch patch: global `fetch()` is a wait of the current flow; a kill or Timeout
 * aborts the request natively (an AbortSignal is given to each call that has none of its
 * own) and so also stops a body being read. Reading the body (`text()`, `json()`,
 * `arrayBuffer()`, `blob()`, `bytes()`, `formData()`) is a wait too.
 * fetch's connection pool works detached (`hub.detached`): a keep-alive connection opened
 * during one greenlet's request is nobody's, so that greenlet's death never closes it
 * while another uses it; a request is aborted through its signal, never its socket.
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

/** `original`, run in the detached context (its pool's sockets and timers are nobody's). */
function detach(original: AnyFunction): AnyFunction {
  return ({
    fetch(this: unknown) {
      return hub.als.run(hub.detached, Reflect.apply, original, this, arguments);
    },
  }).fetch;
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
    })(detach(original)));
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
