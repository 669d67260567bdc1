/**
 * An undici dispatcher's `dispatch(opts, handler)`, wrapped once for two callers: npm
 * undici's request API (a request made in a greenlet's flow is an op, `undici.request GET
 * <url>`, see patches/undici.ts) and fetch (global or undici's), whose request is found
 * here by the flow the fetch runs in (a `FetchFlow`) and aborted through the handler,
 * so a fetch needs no `AbortSignal` (patches/fetch.ts). Either way the dispatch itself runs
 * detached: nested dispatches (Agent → Pool → Client), the connection, and what undici
 * does later on its own (a redirect, a retry) are nobody's. Limit: a dispatcher whose
 * `dispatch` is its own property, not its class's, is never wrapped (fetch then passes a
 * signal).
 */
import * as hub from '../src/hub/index.js';
import { redactUrl } from '../src/internal/redact.js';
import { isWrapper, wrap, type AnyFunction } from '../src/internal/wrap.js';
import { REQUEST, failEarly, track, type OldTrack, type NewTrack, type UndiciHandler } from './undici-handler.js';

const K_REQUEST = hub.kind('undici.request');

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

/**
 * One fetch's request, as its wait sees it: the handler undici dispatched it with (a
 * redirect's next hop replaces it), or the interrupt that came before any dispatch.
 */
export class FetchLink {
  t: OldTrack | NewTrack | null = null;
  failed: Error | null = null;

  /** Abort the request (its body too, once the response came); before dispatch, refuse it then. */
  abort(reason: Error): void {
    if (this.t === null) {
      this.failed ??= reason;
      return;
    }
    try {
      this.t.interrupt(reason, false);
    } catch {
      // undici's abort threw (a destroyed dispatcher): nothing more to stop.
    }
  }
}

/** A fetch's own detached flow (main's, out of every Timeout's reach) that names its link. */
export class FetchFlow extends hub.Flow {
  constructor(readonly link: FetchLink) {
    super();
    this.greenlet = hub.main;
  }
}

/** Whether `dispatch` makes `undici.request` ops (the undici patch is on) or serves fetch only. */
export const dispatchOps = { requests: false };

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
 * The outermost dispatch, in a fetch's flow: link the handler to the fetch; in a
 * greenlet's flow (undici patch on): make the op and wrap the handler. Then dispatch
 * detached. Anything else (nested, detached, fetch-only mode) is the original as it is.
 */
export function dispatchWrapper(original: AnyFunction): AnyFunction {
  return ({
    dispatch(this: object, opts: unknown, handler: unknown) {
      const flow = hub.storedFlow();
      const det = detachedFlow();
      if (flow === det || opts === null || typeof opts !== 'object' || handler === null || typeof handler !== 'object') {
        return Reflect.apply(original, this, arguments) as unknown;
      }
      if (flow instanceof FetchFlow) {
        const link = flow.link;
        if (link.failed !== null) {
          failEarly(handler as UndiciHandler, link.failed); // killed before its request went out
          return false;
        }
        link.t = track(handler as UndiciHandler);
        return hub.runIn(det, Reflect.apply, original, this, [opts, link.t]) as unknown;
      }
      if (!dispatchOps.requests) return Reflect.apply(original, this, arguments) as unknown;
      const t = track(handler as UndiciHandler);
      const op = hub.begin(K_REQUEST, describeRequest(this, opts), REQUEST, t);
      if (op instanceof Error) {
        failEarly(handler as UndiciHandler, op); // a kill or Timeout was pending
        return false; // what undici's dispatch returns for a request that failed to start
      }
      t.op = op;
      try {
        return hub.runIn(det, Reflect.apply, original, this, [opts, t]) as unknown;
      } catch (e) {
        if (!op.settled) op.reject(e);
        throw e;
      }
    },
  }).dispatch;
}

/**
 * Wrap the `dispatch` that `dispatcher` inherits (its class's, found up its prototype
 * chain) for `owner`, unless it is a greenio wrapper already. True when its dispatch is one now.
 */
export function hookDispatcher(dispatcher: unknown, owner: string): boolean {
  if (dispatcher === null || typeof dispatcher !== 'object') return false;
  if (isWrapper((dispatcher as { dispatch?: unknown }).dispatch)) return true;
  if (Object.prototype.hasOwnProperty.call(dispatcher, 'dispatch')) return false;
  for (let p = Object.getPrototypeOf(dispatcher) as object | null; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    if (Object.prototype.hasOwnProperty.call(p, 'dispatch')) {
      wrap(p, 'dispatch', dispatchWrapper, owner);
      break;
    }
  }
  return isWrapper((dispatcher as { dispatch?: unknown }).dispatch);
}

// Where undici keeps its global dispatcher: `.2` from undici 8 on (which also keeps a
// `Dispatcher1Wrapper` of it under `.1`), `.1` before. Whichever undici sets it first (npm's,
// or the one inside Node, when global fetch loads it) owns it for every copy loaded after.
export const kGlobalDispatchers = [Symbol.for('undici.globalDispatcher.2'), Symbol.for('undici.globalDispatcher.1')] as const;

/**
 * True when a fetch given `init` will dispatch through a wrapped `dispatch` (its own
 * `dispatcher`'s, else every global dispatcher's, hooked now if need be), so its link
 * can abort it. False before the first fetch has made the global dispatcher.
 */
export function dispatchReachable(init: unknown, owner: string): boolean {
  if (init !== null && typeof init === 'object') {
    const own = (init as { dispatcher?: unknown }).dispatcher;
    if (own !== undefined) return hookDispatcher(own, owner);
  }
  const g = globalThis as Record<symbol, unknown>;
  const d2 = g[kGlobalDispatchers[0]];
  const d1 = g[kGlobalDispatchers[1]];
  if (d2 === undefined && d1 === undefined) return false;
  return (d2 === undefined || hookDispatcher(d2, owner)) && (d1 === undefined || hookDispatcher(d1, owner));
}
