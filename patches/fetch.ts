/**
 * The fetch patch: global `fetch()` is a wait of the calling flow, named `fetch GET <url>`
 * (URL redacted); a kill or Timeout aborts that request natively (greenio's AbortSignal,
 * joined to the caller's own if there is one), and so also stops a body being read.
 * Reading the body (`text()`, `json()`, ...) is a wait too. Fetch's own machinery (its
 * connection pool, sockets, timers) runs detached, in the main greenlet: a keep-alive
 * connection belongs to nobody, so no greenlet's death can break another's request.
 * `Response.prototype` is patched on the first response, never at start-up (reading it
 * loads undici). Limits: a body left unread is not aborted by a later kill; an `init` that
 * is not a plain object is passed as it is, so that request is dropped, not aborted.
 */
import * as hub from '../src/hub/index.js';
import { redactUrl } from '../src/internal/redact.js';
import { isWrapped, type AnyFunction } from '../src/internal/wrap.js';
import { promiseWrapper } from './conventions.js';
import { definePatch, patchFn } from './patch.js';

const NAME = 'fetch';
const K_FETCH = hub.kind('fetch');
const K_BODY = hub.kind('fetch.body');
const BODY = ['arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text'] as const;
const kAbort = Symbol('greenio.fetchAbort');

let detached: hub.Flow | null = null;

/**
 * The flow of work that belongs to no greenlet: an HTTP client's pool, connections and
 * timers. It is the main greenlet's, but outside every flow a Timeout can aim at.
 */
export function detachedFlow(): hub.Flow {
  if (detached === null || detached.greenlet !== hub.main) {
    detached = new hub.Flow();
    detached.greenlet = hub.main;
  }
  return detached;
}

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
      abortSelf: (self, reason) => (self as { [kAbort]?: AbortController })[kAbort]?.abort(reason),
    }));
  }
}

/**
 * The wrapper factory of a fetch function (global `fetch`, undici's `fetch`): a wait of
 * kind `kind`, aborted through its signal, the original run detached; the responses'
 * class gets its body methods patched (for `owner`, recorded under `module`) on first use.
 */
export function fetchWrapper(kind: hub.Kind, owner: string, module: string): (original: AnyFunction) => AnyFunction {
  const wrapped = promiseWrapper({
    kind,
    detail: describeFetch,
    withSignal,
    // The response remembers how to abort its request, for its body methods.
    onValue: (res, ac) => {
      if (res === null || typeof res !== 'object' || typeof (res as Response).text !== 'function') return;
      const proto = Object.getPrototypeOf(res) as object | null;
      if (proto !== null) patchBodies(proto, owner, module);
      if (ac !== null) Object.defineProperty(res, kAbort, { value: ac, configurable: true });
    },
  });
  return (original) => wrapped(detach(original));
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
