/**
 * The fetch patch: global `fetch()` is a wait of the calling flow, named `fetch GET <url>`
 * (URL redacted); a kill or Timeout aborts that request natively, through the dispatcher
 * it went to (else through greenio's AbortSignal, joined to the caller's own if there is
 * one), and so also stops a body being read.
 * Reading the body (`text()`, `json()`, ...) is a wait too. Fetch's own machinery (its
 * connection pool, sockets, timers) runs detached, in the main greenlet: a keep-alive
 * connection belongs to nobody, so no greenlet's death can break another's request.
 * `Response.prototype` is patched on the first response, never at start-up (reading it
 * loads undici). Limits: a body left unread is not aborted by a later kill; where a signal
 * is needed (see fetchWrapper), an `init` that is not a plain object is passed as it is,
 * so that request is dropped, not aborted.
 */
import * as hub from '../src/hub/index.js';
import { redactUrl } from '../src/internal/redact.js';
import { isWrapped, type AnyFunction } from '../src/internal/wrap.js';
import { promiseWrapper } from './conventions.js';
import { promiseHandler, type Abortable, type PromiseState } from './promise-wrapper.js';
import { definePatch, patchFn } from './patch.js';
import { FetchFlow, FetchLink, detachedFlow, dispatchReachable } from './undici-dispatch.js';

const NAME = 'fetch';
const K_FETCH = hub.kind('fetch');
const K_BODY = hub.kind('fetch.body');
const BODY = ['arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text'] as const;
const kAbort = Symbol('greenio.fetchAbort');

/** `fn` run in the detached flow: what it opens (a pooled connection) is nobody's. */
export function detach(fn: AnyFunction): AnyFunction {
  return ({
    fetch(this: unknown) {
      return hub.runIn(detachedFlow(), Reflect.apply, fn, this, arguments) as unknown;
    },
  }).fetch;
}

const isSignal = (s: unknown): s is AbortSignal => s instanceof AbortSignal;

/**
 * The call's arguments with greenio's signal: alone, or joined to the caller's (that of
 * `init`, else that of a Request given as input), so either one aborts the request.
 */
function withSignal(args: unknown[], signal: AbortSignal): unknown[] | undefined {
  const input = args[0];
  const init = args[1];
  if (init !== undefined && init !== null) {
    if (typeof init !== 'object') return undefined; // fetch throws its own error
    // Only a plain object can be copied with a signal added (a class's getters would be lost).
    const proto = Object.getPrototypeOf(init) as unknown;
    if (proto !== Object.prototype && proto !== null) return undefined;
  }
  const signals: AbortSignal[] = [signal];
  if (init !== undefined && init !== null && 'signal' in init) {
    const own = (init as { signal?: unknown }).signal;
    if (isSignal(own)) signals.push(own);
    else if (own !== undefined && own !== null) return undefined; // not a signal: fetch throws its TypeError
  } else if (input !== null && typeof input === 'object' && isSignal((input as { signal?: unknown }).signal)) {
    signals.push((input as { signal: AbortSignal }).signal);
  }
  const joined = signals.length === 1 ? signal : AbortSignal.any(signals);
  return [input, { ...(init as object | undefined | null), signal: joined }, ...args.slice(2)];
}

/** `GET http://127.0.0.1:8080/x?token=REDACTED`, from fetch's arguments. */
function describeFetch(args: ArrayLike<unknown>): string {
  const input = args[0];
  const init = args[1] as { method?: unknown } | undefined | null;
  let url = '';
  let method: unknown;
  if (typeof input === 'string') url = input;
  else if (input instanceof URL) url = input.href;
  else if (input !== null && typeof input === 'object' && typeof (input as { url?: unknown }).url === 'string') {
    url = (input as { url: string }).url; // a Request
    method = (input as { method?: unknown }).method;
  }
  if (init !== null && typeof init === 'object' && typeof init.method === 'string') method = init.method;
  return `${typeof method === 'string' ? method.toUpperCase() : 'GET'} ${redactUrl(url)}`;
}

/** Make the body methods of a Response class (global, or an undici copy's) waits. */
function patchBodies(proto: object, owner: string, module: string): void {
  // Asked on every response: answered by one lookup once done (all are wrapped at once).
  if (isWrapped(proto, 'text')) return;
  for (const m of BODY) {
    if (typeof (proto as Record<string, unknown>)[m] !== 'function') continue;
    patchFn(owner, module, `Response.prototype.${m}`, proto, m, promiseWrapper({
      kind: K_BODY,
      detail: (_a, self) => redactUrl(String((self as { url?: unknown }).url ?? '')),
      abortSelf: (self, reason) => (self as { [kAbort]?: Abortable })[kAbort]?.abort(reason),
    }));
  }
}

/**
 * The wrapper factory of a fetch function (global `fetch`, undici's `fetch`): a wait of
 * kind `kind`, the original run detached; the responses' class gets its body methods
 * patched (for `owner`, recorded under `module`) on first use. A kill or Timeout aborts
 * the request through the dispatcher it goes to (patches/undici-dispatch.ts): no signal,
 * which costs undici's `Request` a listener, a WeakRef and a FinalizationRegistry entry
 * (~15 µs of CPU a request). The first fetch (the global dispatcher does not exist yet),
 * one given a dispatcher greenio cannot wrap, or a call of more than two arguments, is
 * given a signal instead.
 */
export function fetchWrapper(kind: hub.Kind, owner: string, module: string): (original: AnyFunction) => AnyFunction {
  // The response remembers how to abort its request, for its body methods.
  const onValue = (res: unknown, abort: Abortable | null): void => {
    if (res === null || typeof res !== 'object' || typeof (res as Response).text !== 'function') return;
    const proto = Object.getPrototypeOf(res) as object | null;
    if (proto !== null) patchBodies(proto, owner, module);
    if (abort !== null) Object.defineProperty(res, kAbort, { value: abort, configurable: true });
  };
  const spec = { kind, detail: describeFetch, withSignal, onValue };
  const signalled = promiseWrapper(spec);
  // The same wait when aborted through the dispatcher: the fetch's link is its abort.
  const linked = promiseHandler(spec);
  return (original) => {
    const viaSignal = signalled(detach(original));
    return ({
      fetch(this: unknown, input: unknown, init: unknown) {
        if (arguments.length > 2 || !dispatchReachable(init, owner)) return Reflect.apply(viaSignal, this, arguments);
        const pending = hub.pendingInterrupt();
        if (pending !== null) return Promise.reject(pending);
        const link = new FetchLink();
        const p = hub.runIn(new FetchFlow(link), Reflect.apply, original, this, arguments) as unknown;
        if (!(p instanceof Promise)) return p;
        return hub.wait(kind, describeFetch(arguments), linked, { p, ac: link, self: this } satisfies PromiseState);
      },
    }).fetch;
  };
}

export const fetchPatch = definePatch({
  name: NAME, option: 'fetch', module: 'global', aliases: [],
  implements: {
    promise: ['fetch', ...BODY.map((m) => `Response.prototype.${m}`)],
  },
  patch(exports) {
    // Only the `fetch` global is read here: `Response` is a lazy global that loads undici.
    const g = exports as typeof globalThis;
    if (typeof g.fetch === 'function') patchFn(NAME, 'global', 'fetch', g, 'fetch', fetchWrapper(K_FETCH, NAME, 'global'));
  },
});
