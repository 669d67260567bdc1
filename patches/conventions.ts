/**
 * One wrapper factory per calling convention (DESIGN.md "Patching rules"): callback,
 * promise and handle (socket, server, child, request). Each attributes the operation to
 * the current flow through the hub and makes kill/Timeout abort it; results, errors,
 * `this` and argument handling are the original's (a synchronous throw for bad
 * arguments passes through untouched). Sync calls are in `sync.ts`.
 * Limit: an aborted operation the OS cannot stop (a getaddrinfo, a blocked open) keeps
 * its libuv thread until it returns; its late result is dropped and released.
 */
import * as hub from '../src/hub/index.js';
import type { AnyOp, Kind, OpHandler } from '../src/hub/index.js';
import { kOp } from '../src/internal/symbols.js';
import type { AnyFunction } from '../src/internal/wrap.js';

/** How a late result (arriving after its op was cancelled) is released: close an fd. */
export type LateHandler = (value: unknown) => void;

export interface CallbackSpec {
  kind: Kind;
  /** The op's detail from the arguments and `this` (default: the first argument). */
  detail?: (args: ArrayLike<unknown>, self: unknown) => unknown;
  /** A cleanup call (close): never refused for a pending interrupt or a killed greenlet. */
  cleanup?: boolean;
  /** Release what a late success holds (the result arguments after `err`). */
  onLate?: (...results: unknown[]) => void;
  /**
   * Give the call an AbortSignal so a cancel stops the work natively (readFile between
   * chunks): returns the arguments to call with, or undefined to leave them as they are.
   */
  withSignal?: (args: unknown[], signal: AbortSignal) => unknown[] | undefined;
}

interface CallbackState {
  cb: AnyFunction;
  ac: AbortController | null;
}

// `op.data` is the user's callback, or a CallbackState when the call got a signal.
const CALLBACK: OpHandler<unknown> = {
  cancel(op, reason, silent) {
    const d = op.data as AnyFunction | CallbackState;
    const cb = typeof d === 'function' ? d : d.cb;
    if (typeof d !== 'function') d.ac?.abort(reason);
    if (silent === true) return false;
    // As Node does for an AbortSignal: the callback is called once, with the error.
    process.nextTick(cb, reason);
    return true;
  },
};

/** Wrap an error-first-callback function (`fs.stat(path, cb)`). */
export function callbackWrapper(spec: CallbackSpec): (original: AnyFunction) => AnyFunction {
  const { kind, onLate, withSignal, cleanup, detail } = spec;
  if (withSignal === undefined && detail === undefined && cleanup !== true) return (original) => plainCallbackWrapper(kind, onLate, original);
  return (original) =>
    ({ wrapper(this: unknown) {
      const n = arguments.length;
      const cb = n > 0 ? (arguments[n - 1] as unknown) : undefined;
      if (typeof cb !== 'function') return Reflect.apply(original, this, arguments);
      // The arguments object itself is reused (its last slot swapped for the wrapped callback).
      let args: ArrayLike<unknown> & { [i: number]: unknown } = arguments;
      let data: AnyFunction | CallbackState = cb as AnyFunction;
      if (withSignal !== undefined) {
        const ac = new AbortController();
        const list = Array.prototype.slice.call(arguments) as unknown[];
        args = withSignal(list, ac.signal) ?? list;
        data = { cb: cb as AnyFunction, ac };
      }
      const d = detail === undefined ? args[0] : detail(args, this);
      // Under a pending kill or Timeout the call does not start: its callback gets the
      // error on the next tick (a cleanup call is never refused).
      const op = cleanup === true ? hub.track(kind, d, CALLBACK, data) : hub.begin(kind, d, CALLBACK, data);
      if (op instanceof Error) {
        process.nextTick(cb as AnyFunction, op);
        return undefined;
      }
      args[args.length - 1] = completion(op, cb as AnyFunction, onLate);
      try {
        return Reflect.apply(original, this, args);
      } catch (e) {
        op.end();
        throw e;
      }
    } }).wrapper;
}

/** The callback given to the original: ends the op, then calls the user's (or drops a late result). */
function completion(op: AnyOp, cb: AnyFunction, onLate: CallbackSpec['onLate']): AnyFunction {
  // Fixed parameters for the usual (err) and (err, value) calls, and `arguments` only
  // forwarded (Reflect.apply): V8 then makes no arguments object per call (issue 18:
  // greenio's own allocation per call is what the patched fs.stat pays in scavenges).
  return function (this: unknown, err: unknown, value: unknown) {
    const n = arguments.length;
    if (!op.end()) {
      if (onLate !== undefined && err == null) {
        if (n <= 2) onLate(value);
        else Reflect.apply(lateResults, onLate, arguments);
      }
      return undefined;
    }
    if (n === 2) return cb.call(this, err, value);
    if (n === 1) return cb.call(this, err);
    return Reflect.apply(cb, this, arguments);
  };
}

/** A late result of more than one value: `this` is the release function. */
function lateResults(this: (...results: unknown[]) => void, _err: unknown, ...results: unknown[]): void {
  this(...results);
}

/**
 * The wrapper of a plain spec (no signal, detail or cleanup: `fs.stat`, `fs.open`): fixed
 * parameters for calls of one to four arguments, so V8 makes no arguments object and calls
 * the original directly; other arities take the generic path (arguments forwarded as is).
 */
function plainCallbackWrapper(kind: Kind, onLate: CallbackSpec['onLate'], original: AnyFunction): AnyFunction {
  // Forwarded with Reflect.apply(slow, this, arguments): V8 then makes no arguments object
  // in the wrapper (passing `arguments` to a function would make one on every call).
  function slow(this: unknown): unknown {
    const self = this;
    const args = arguments;
    const n = args.length;
    const cb = n > 0 ? (args[n - 1] as unknown) : undefined;
    if (typeof cb !== 'function') return Reflect.apply(original, self, args);
    const op = hub.begin(kind, args[0], CALLBACK, cb);
    if (op instanceof Error) {
      process.nextTick(cb as AnyFunction, op);
      return undefined;
    }
    const list = Array.prototype.slice.call(args) as unknown[];
    list[n - 1] = completion(op, cb as AnyFunction, onLate);
    try {
      return Reflect.apply(original, self, list);
    } catch (e) {
      op.end();
      throw e;
    }
  }
  return ({ wrapper(this: unknown, a: unknown, b: unknown, c: unknown, d: unknown) {
    const n = arguments.length;
    const cb = n === 2 ? b : n === 3 ? c : n === 4 ? d : n === 1 ? a : undefined;
    if (n === 0 || n > 4 || typeof cb !== 'function') return Reflect.apply(slow, this, arguments);
    // Under a pending kill or Timeout the call does not start: its callback gets the error
    // on the next tick.
    const op = hub.begin(kind, a, CALLBACK, cb);
    if (op instanceof Error) {
      process.nextTick(cb as AnyFunction, op);
      return undefined;
    }
    const done = completion(op, cb as AnyFunction, onLate);
    try {
      return n === 2 ? original.call(this, a, done) : n === 3 ? original.call(this, a, b, done) : n === 4 ? original.call(this, a, b, c, done) : original.call(this, done);
    } catch (e) {
      op.end();
      throw e;
    }
  } }).wrapper;
}

export interface PromiseSpec {
  kind: Kind;
  /** A cleanup call (FileHandle.close): never refused for a pending interrupt. */
  cleanup?: boolean;
  /** Look at every successful result (with the call's AbortController, if it made one). */
  onValue?: (value: unknown, ac: AbortController | null) => void;
  /** Abort natively what the call on `self` started (a body read: abort its request). */
  abortSelf?: (self: unknown, reason: Error) => void;
  /** Release what a late success holds (a FileHandle). */
  onLate?: LateHandler;
  /** As for callbacks: call with a signal so a cancel stops the work natively. */
  withSignal?: (args: unknown[], signal: AbortSignal) => unknown[] | undefined;
  /** The op's detail from the arguments (default: the first argument). */
  detail?: (args: ArrayLike<unknown>, self: unknown) => unknown;
  /** Calls that are not the application's IO (Node's own module loader): left untracked. */
  bypass?: (args: ArrayLike<unknown>) => boolean;
}

interface PromiseState {
  p: Promise<unknown>;
  ac: AbortController | null;
  self: unknown;
}

/**
 * The wait's handler for one spec. `op.data` is the original's promise itself, or a
 * PromiseState when the call has more to keep (an AbortController, `this` for abortSelf):
 * a plain `fsp.stat()` allocates no state object.
 */
function promiseHandler(spec: PromiseSpec): OpHandler<unknown> {
  const { onValue, onLate, abortSelf } = spec;
  return {
    start(op) {
      const d = op.data as Promise<unknown> | PromiseState;
      const s = d instanceof Promise ? null : d;
      (s === null ? (d as Promise<unknown>) : s.p).then(
        (v) => {
          onValue?.(v, s === null ? null : s.ac);
          if (op.settled) onLate?.(v);
          else op.resolve(v);
        },
        (e: unknown) => op.reject(e),
      );
    },
    cancel(op, reason) {
      const d = op.data;
      if (d instanceof Promise) return;
      const s = d as PromiseState;
      s.ac?.abort(reason);
      abortSelf?.(s.self, reason);
    },
  };
}

/** Wrap a promise-returning function (`fsp.readFile(path)`): the promise becomes a hub wait. */
export function promiseWrapper(spec: PromiseSpec): (original: AnyFunction) => AnyFunction {
  const { kind, withSignal, detail, cleanup, bypass, abortSelf } = spec;
  const handler = promiseHandler(spec);
  if (withSignal === undefined && detail === undefined && cleanup !== true && bypass === undefined && abortSelf === undefined) {
    return (original) => plainPromiseWrapper(kind, handler, original);
  }
  return (original) =>
    ({ wrapper(this: unknown) {
      if (bypass !== undefined && bypass(arguments)) return Reflect.apply(original, this, arguments);
      const pending = cleanup === true ? null : hub.pendingInterrupt();
      if (pending !== null) return Promise.reject(pending);
      let ac: AbortController | null = null;
      let p: unknown;
      if (withSignal !== undefined) {
        ac = new AbortController();
        const args = Array.prototype.slice.call(arguments) as unknown[];
        p = Reflect.apply(original, this, withSignal(args, ac.signal) ?? args);
      } else {
        p = Reflect.apply(original, this, arguments);
      }
      if (!(p instanceof Promise)) return p;
      const data: Promise<unknown> | PromiseState = ac === null && abortSelf === undefined ? p : { p, ac, self: this };
      return hub.wait(kind, detail === undefined ? arguments[0] : detail(arguments, this), handler, data);
    } }).wrapper;
}

/**
 * The wrapper of a plain spec (`fsp.stat`): fixed parameters for calls of up to four
 * arguments, so V8 makes no arguments object; other arities are forwarded whole.
 */
function plainPromiseWrapper(kind: Kind, handler: OpHandler<unknown>, original: AnyFunction): AnyFunction {
  function slow(this: unknown): unknown {
    const pending = hub.pendingInterrupt();
    if (pending !== null) return Promise.reject(pending);
    const p: unknown = Reflect.apply(original, this, arguments);
    return p instanceof Promise ? hub.wait(kind, arguments[0], handler, p) : p;
  }
  return ({ wrapper(this: unknown, a: unknown, b: unknown, c: unknown, d: unknown) {
    const n = arguments.length;
    if (n > 4) return Reflect.apply(slow, this, arguments);
    const pending = hub.pendingInterrupt();
    if (pending !== null) return Promise.reject(pending);
    const p: unknown = n === 1 ? original.call(this, a) : n === 2 ? original.call(this, a, b) : n === 0 ? original.call(this) : n === 3 ? original.call(this, a, b, c) : original.call(this, a, b, c, d);
    return p instanceof Promise ? hub.wait(kind, a, handler, p) : p;
  } }).wrapper;
}

/** Options of `trackHandle`. */
export interface HandleSpec {
  kind: Kind;
  /** Abort the handle (destroy a socket, kill a child, close a server); `silent`: no 'error' event. */
  abort: (handle: object, reason: Error, silent: boolean) => boolean | void;
  /** The event that means the handle is finished (default `'close'`); null: the caller ends the op (`handle[kOp]`). */
  endEvent?: string | null;
}

interface HandleState {
  handle: object;
  abort: HandleSpec['abort'];
}

const HANDLE: OpHandler<unknown> = {
  cancel(op, reason, silent) {
    const s = op.data as HandleState;
    return s.abort(s.handle, reason, silent === true) === true;
  },
};

type Emitter = { once(event: string, fn: () => void): unknown };

/**
 * Make `handle` (an EventEmitter) an op of the current flow until it emits `endEvent`,
 * so a kill aborts it. Idempotent per handle; the op is kept on `handle[kOp]` (the op
 * itself is the hub's, so it is not returned).
 */
export function trackHandle(handle: object, detail: unknown, spec: HandleSpec): void {
  const h = handle as Record<symbol, AnyOp | undefined>;
  const existing = h[kOp];
  if (existing !== undefined && !existing.settled) return;
  const op = hub.track(spec.kind, detail, HANDLE, { handle, abort: spec.abort } satisfies HandleState);
  Object.defineProperty(handle, kOp, { value: op, configurable: true, writable: true, enumerable: false });
  if (spec.endEvent !== null) (handle as Emitter).once(spec.endEvent ?? 'close', () => op.end());
}

/** Marks greenio's own listeners, so they do not count as the user listening. */
export const kGreenioListener = Symbol('greenio.listener');
const swallow = Object.assign((): void => {}, { [kGreenioListener]: true });

/**
 * Destroy a stream-like handle with `reason`: its user's `'error'` listeners receive it
 * (a hand-made promise around the handle rejects). Returns true if one did. An `'error'`
 * nobody listens to must not crash the process, so greenio listens too.
 */
export function destroyHandle(handle: object, reason: Error, silent = false): boolean {
  const h = handle as {
    destroy(e?: Error): void;
    listeners(e: string): Array<{ [kGreenioListener]?: boolean }>;
    once(e: string, f: () => void): void;
    destroyed?: boolean;
  };
  if (h.destroyed === true) return false;
  if (silent) {
    h.destroy();
    return false;
  }
  const delivered = h.listeners('error').some((l) => l[kGreenioListener] !== true);
  h.once('error', swallow);
  h.destroy(reason);
  return delivered;
}

/** Add `signal` to an options argument at `index` (object, string encoding, or absent). */
export function optionsWithSignal(args: unknown[], index: number, signal: AbortSignal): unknown[] | undefined {
  const last = args.length - 1;
  const hasCallback = typeof args[last] === 'function';
  const end = hasCallback ? last : args.length;
  const o = index < end ? args[index] : undefined;
  let opts: object;
  if (o === undefined || o === null) opts = { signal };
  else if (typeof o === 'string') opts = { encoding: o, signal };
  else if (typeof o === 'object' && !('signal' in o) && Object.getPrototypeOf(o) === Object.prototype) opts = { ...o, signal };
  else return undefined; // a user signal or an exotic options object: leave the call alone
  const out = args.slice();
  if (index < end) out[index] = opts;
  else if (hasCallback) out.splice(last, 0, ...new Array(index - last).fill(undefined), opts);
  else out[index] = opts;
  return out;
}
