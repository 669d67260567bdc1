/**
 * The callback convention's wrapper factory (`fs.stat(path, cb)`): each call is an op of the
 * current flow, ended by its callback; a kill or Timeout calls the callback once with its
 * error (and aborts the work natively when the spec gives the call a signal). Results,
 * errors, `this` and argument handling are the original's.
 * Limit: an aborted call the OS cannot stop (a blocked open) keeps its libuv thread until it
 * returns; its late result is dropped and released (`onLate`).
 */
import * as hub from '../src/hub/index.js';
import type { AnyOp, Kind, OpHandler } from '../src/hub/index.js';
import type { AnyFunction } from '../src/internal/wrap.js';

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
    hub.tickIn(op, cb, reason);
    return true;
  },
};

/**
 * Wrap an error-first-callback function. A plain spec (no signal, detail or cleanup:
 * `fs.stat`, `fs.open`) gets a fixed-arity front over the same generic wrapper.
 */
export function callbackWrapper(spec: CallbackSpec): (original: AnyFunction) => AnyFunction {
  const plain = spec.withSignal === undefined && spec.detail === undefined && spec.cleanup !== true;
  return (original) => {
    const generic = genericWrapper(spec, original);
    return plain ? plainWrapper(spec.kind, spec.onLate, original, generic) : generic;
  };
}

/** Any spec, any arity: the arguments object itself is reused (its last slot swapped for the wrapped callback). */
function genericWrapper(spec: CallbackSpec, original: AnyFunction): AnyFunction {
  const { kind, onLate, withSignal, cleanup, detail } = spec;
  return ({ wrapper(this: unknown) {
    const n = arguments.length;
    const cb = n > 0 ? (arguments[n - 1] as unknown) : undefined;
    if (typeof cb !== 'function') return Reflect.apply(original, this, arguments);
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

/**
 * The front of a plain spec: fixed parameters for calls of one to four arguments ending in
 * a callback, so V8 makes no arguments object and calls the original directly; any other
 * call is forwarded whole to the generic wrapper (`Reflect.apply(generic, this, arguments)`
 * makes no arguments object either).
 */
function plainWrapper(kind: Kind, onLate: CallbackSpec['onLate'], original: AnyFunction, generic: AnyFunction): AnyFunction {
  return ({ wrapper(this: unknown, a: unknown, b: unknown, c: unknown, d: unknown) {
    const n = arguments.length;
    const cb = n === 2 ? b : n === 3 ? c : n === 4 ? d : n === 1 ? a : undefined;
    if (n === 0 || n > 4 || typeof cb !== 'function') return Reflect.apply(generic, this, arguments);
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
