/**
 * The promise convention's wrapper factory (`fsp.readFile(path)`): the original's promise
 * becomes a hub wait of the current flow, so a kill or Timeout rejects the caller at once
 * (and aborts the work natively when the spec gives the call a signal). A call under a
 * pending interrupt does not start. Limit: without a signal the original's work runs on; its
 * late result is released (`onLate`).
 */
import * as hub from '../src/hub/index.js';
import type { Kind, OpHandler } from '../src/hub/index.js';
import type { AnyFunction } from '../src/internal/wrap.js';

/** How a late result (arriving after its op was cancelled) is released: close an fd. */
export type LateHandler = (value: unknown) => void;

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

/** What aborts a call's work natively: its AbortController, or a client's own abort (a fetch's dispatcher link). */
export interface Abortable {
  abort(reason: Error): void;
}

/** A wait's data when the call has more to keep than its promise. */
export interface PromiseState {
  p: Promise<unknown>;
  ac: Abortable | null;
  self: unknown;
}

/**
 * The wait's handler for one spec. `op.data` is the original's promise itself, or a
 * PromiseState when the call has more to keep (what aborts it, `this` for abortSelf):
 * a plain `fsp.stat()` allocates no state object. Exported for a wrapper that starts its
 * call its own way (patches/fetch.ts) and then waits as this convention does.
 */
export function promiseHandler(spec: PromiseSpec): OpHandler<unknown> {
  const { onValue, onLate, abortSelf } = spec;
  return {
    start(op) {
      const d = op.data as Promise<unknown> | PromiseState;
      const s = d instanceof Promise ? null : d;
      (s === null ? (d as Promise<unknown>) : s.p).then(
        (v) => {
          // Only fetch's own spec finds a non-AbortController here (its link), and its onValue takes any Abortable.
          onValue?.(v, s === null ? null : (s.ac as AbortController | null));
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

/**
 * Wrap a promise-returning function. A plain spec (`fsp.stat`: no signal, detail, cleanup,
 * bypass or abortSelf) gets a fixed-arity front over the same generic wrapper.
 */
export function promiseWrapper(spec: PromiseSpec): (original: AnyFunction) => AnyFunction {
  const plain = spec.withSignal === undefined && spec.detail === undefined && spec.cleanup !== true && spec.bypass === undefined && spec.abortSelf === undefined;
  const handler = promiseHandler(spec);
  return (original) => {
    const generic = genericWrapper(spec, handler, original);
    return plain ? plainWrapper(spec.kind, handler, original, generic) : generic;
  };
}

/** Any spec, any arity. */
function genericWrapper(spec: PromiseSpec, handler: OpHandler<unknown>, original: AnyFunction): AnyFunction {
  const { kind, withSignal, detail, cleanup, bypass, abortSelf } = spec;
  return ({ wrapper(this: unknown) {
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
 * The front of a plain spec: fixed parameters for calls of up to four arguments, so V8
 * makes no arguments object; other arities are forwarded whole to the generic wrapper.
 */
function plainWrapper(kind: Kind, handler: OpHandler<unknown>, original: AnyFunction, generic: AnyFunction): AnyFunction {
  return ({ wrapper(this: unknown, a: unknown, b: unknown, c: unknown, d: unknown) {
    const n = arguments.length;
    if (n > 4) return Reflect.apply(generic, this, arguments);
    const pending = hub.pendingInterrupt();
    if (pending !== null) return Promise.reject(pending);
    const p: unknown = n === 1 ? original.call(this, a) : n === 2 ? original.call(this, a, b) : n === 0 ? original.call(this) : n === 3 ? original.call(this, a, b, c) : original.call(this, a, b, c, d);
    return p instanceof Promise ? hub.wait(kind, a, handler, p) : p;
  } }).wrapper;
}
