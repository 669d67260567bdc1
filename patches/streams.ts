/**
 * The streams patch: waiting for an event or for stream data is a wait of the current
 * flow, named after what is read (`net read`, `fs read`, `http read`): `events.once`,
 * `events.on`, `Readable`'s async iteration, and `stream/promises`' `pipeline` and
 * `finished`. A cancelled `once` removes its listeners; a cancelled `next()` keeps the
 * chunk it later receives for the following `next()`, so a Timeout loses no data.
 * Limit: `events.once(target, name, options)` with options, or on an EventTarget, keeps
 * Node's own implementation (its listeners stay until the event or the caller's signal).
 */
import * as hub from '../src/hub/index.js';
import type { OpHandler } from '../src/hub/index.js';
import type { AnyFunction } from '../src/internal/wrap.js';
import { kGreenioListener, promiseWrapper } from './conventions.js';
import { definePatch, patchFn, requireBuiltin } from './patch.js';

const NAME = 'streams';
const kinds = new Map<string, hub.Kind>();
function kindNamed(name: string): hub.Kind {
  let k = kinds.get(name);
  if (k === undefined) kinds.set(name, (k = hub.kind(name)));
  return k;
}

let net: typeof import('node:net') | undefined;
let fs: typeof import('node:fs') | undefined;
let http: typeof import('node:http') | undefined;
let cp: typeof import('node:child_process') | undefined;

/** `net read`, `fs read`, `http read`, `child_process exit`, else `event <name>`. */
function kindFor(emitter: unknown, event: unknown): hub.Kind {
  const ev = typeof event === 'string' ? event : String(event);
  const data = ev === 'data' || ev === 'readable' || ev === 'end';
  if (emitter instanceof net!.Socket) return kindNamed(data ? 'net read' : `net ${ev}`);
  if (emitter instanceof http!.IncomingMessage) return kindNamed(data ? 'http read' : `http ${ev}`);
  if (emitter instanceof http!.ClientRequest) return kindNamed(`http ${ev}`);
  if (emitter instanceof fs!.ReadStream) return kindNamed(data ? 'fs read' : `fs ${ev}`);
  if (emitter instanceof cp!.ChildProcess) return kindNamed(`child_process ${ev}`);
  return kindNamed(data ? 'stream read' : `event ${ev}`);
}

// A connected socket's peer does not change: its `host:port` is built once, not per read.
const peers = new WeakMap<object, string>();

function detailOf(emitter: unknown): unknown {
  const e = emitter as { remoteAddress?: string; remotePort?: number; path?: unknown; url?: string; spawnfile?: string };
  const peer = peers.get(e);
  if (peer !== undefined) return peer;
  if (typeof e.remoteAddress === 'string') {
    const p = `${e.remoteAddress}:${e.remotePort}`;
    peers.set(e, p);
    return p;
  }
  if (typeof e.path === 'string') return e.path;
  if (typeof e.url === 'string') return e.url;
  if (typeof e.spawnfile === 'string') return e.spawnfile;
  return undefined;
}

type Emitter = import('node:events').EventEmitter;
interface OnceState {
  emitter: Emitter;
  name: string | symbol;
  listener: ((...args: unknown[]) => void) | null;
  onError: ((err: unknown) => void) | null;
}

function detach(s: OnceState): void {
  if (s.listener !== null) s.emitter.removeListener(s.name, s.listener);
  if (s.onError !== null) s.emitter.removeListener('error', s.onError);
  s.listener = s.onError = null;
}

// Listeners are added with `on`, not `once`: each removes both at its first call anyway,
// and `once` would wrap each in a bound function and a state object (per message read).
const ONCE: OpHandler<unknown[]> = {
  start(op) {
    const s = op.data as OnceState;
    s.listener = (...args: unknown[]) => {
      detach(s);
      op.resolve(args);
    };
    s.emitter.on(s.name, s.listener);
    if (s.name !== 'error') {
      const onError = (err: unknown): void => {
        detach(s);
        op.reject(err);
      };
      (onError as { [kGreenioListener]?: boolean })[kGreenioListener] = true;
      s.onError = onError;
      s.emitter.on('error', onError);
    }
  },
  cancel(op) {
    detach(op.data as OnceState);
  },
};

function onceWrapper(original: AnyFunction): AnyFunction {
  const fallback = promiseWrapper({ kind: kindNamed('event'), detail: (a) => a[1] })(original);
  return ({ wrapper(this: unknown, emitter: unknown, name: unknown) {
    const plain = arguments.length === 2 && emitter !== null && typeof emitter === 'object' &&
      typeof (emitter as Emitter).once === 'function' && typeof (emitter as Emitter).removeListener === 'function' &&
      (typeof name === 'string' || typeof name === 'symbol');
    if (!plain) return Reflect.apply(fallback, this, arguments);
    const state: OnceState = { emitter: emitter as Emitter, name: name as string | symbol, listener: null, onError: null };
    return hub.wait(kindFor(emitter, name), detailOf(emitter), ONCE, state);
  } }).wrapper;
}

interface NextState {
  p: Promise<unknown>;
  it: { stash: { ok: boolean; value: unknown } | null };
}

const NEXT: OpHandler<unknown> = {
  start(op) {
    const s = op.data as NextState;
    s.p.then(
      (v) => {
        if (op.settled) s.it.stash = { ok: true, value: v };
        else op.resolve(v);
      },
      (e: unknown) => {
        if (op.settled) s.it.stash = { ok: false, value: e };
        else op.reject(e);
      },
    );
  },
};

type AsyncIt = AsyncIterator<unknown> & { stash: NextState['it']['stash'] };

/** Make every `next()` of an async iterator a wait; keep a late result for the next call. */
function waitingIterator(it: AsyncIt, kind: hub.Kind, detail: unknown): AsyncIt {
  const next = it.next;
  Object.defineProperty(it, 'stash', { enumerable: false, writable: true, value: null });
  it.next = function (this: unknown): Promise<IteratorResult<unknown>> {
    const st = it.stash;
    if (st !== null) {
      it.stash = null;
      return st.ok ? Promise.resolve(st.value as IteratorResult<unknown>) : Promise.reject(st.value);
    }
    const p = Reflect.apply(next, it, arguments) as Promise<IteratorResult<unknown>>;
    return hub.wait(kind, detail, NEXT, { p, it } satisfies NextState) as Promise<IteratorResult<unknown>>;
  };
  return it;
}

function readableIterWrapper(original: AnyFunction): AnyFunction {
  return ({ wrapper(this: unknown) {
    return waitingIterator(Reflect.apply(original, this, arguments) as AsyncIt, kindFor(this, 'data'), detailOf(this));
  } }).wrapper;
}

function onWrapper(original: AnyFunction): AnyFunction {
  return ({ wrapper(this: unknown, emitter: unknown, name: unknown) {
    return waitingIterator(Reflect.apply(original, this, arguments) as AsyncIt, kindFor(emitter, name), detailOf(emitter));
  } }).wrapper;
}

// Turned off with `net` (it serves sockets first of all); fs and http streams use it too.
export const streamsPatch = definePatch({
  name: NAME, option: 'net', module: 'stream', aliases: ['events', 'stream', 'stream/promises'],
  implements: {
    promise: ['events.once', 'stream/promises.pipeline', 'stream/promises.finished'],
    stream: ['events.on', 'Readable.prototype[Symbol.asyncIterator]'],
  },
  patch(exports) {
    net = requireBuiltin('node:net') as typeof import('node:net');
    fs = requireBuiltin('node:fs') as typeof import('node:fs');
    http = requireBuiltin('node:http') as typeof import('node:http');
    cp = requireBuiltin('node:child_process') as typeof import('node:child_process');
    const events = requireBuiltin('node:events') as typeof import('node:events');
    const stream = exports as typeof import('node:stream');
    const sp = requireBuiltin('node:stream/promises') as typeof import('node:stream/promises');
    patchFn(NAME, 'events', 'once', events, 'once', onceWrapper);
    patchFn(NAME, 'events', 'on', events, 'on', onWrapper);
    patchFn(NAME, 'stream', 'Readable.prototype[Symbol.asyncIterator]', stream.Readable.prototype, Symbol.asyncIterator as unknown as string, readableIterWrapper);
    patchFn(NAME, 'stream/promises', 'pipeline', sp, 'pipeline', promiseWrapper({ kind: kindNamed('stream.pipeline'), detail: () => undefined }));
    patchFn(NAME, 'stream/promises', 'finished', sp, 'finished', promiseWrapper({ kind: kindNamed('stream.finished'), detail: (a) => detailOf(a[0]) }));
  },
});
