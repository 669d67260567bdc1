/**
 * The handler greenio puts between an undici dispatcher and the request's own handler
 * (undici's `request()`/`stream()` handler, a fetch, an interceptor's): it ends the
 * request's op when the response ends, keeps undici's abort (old API: `onConnect(abort)`;
 * new API: `onRequestStart(controller)`), and turns a cancel into that abort. A request
 * still queued for a connection fails at once; undici drops it when its turn comes.
 */
import * as hub from '../src/hub/index.js';
import type { AnyOp, OpHandler } from '../src/hub/index.js';
import { kOp } from '../src/internal/symbols.js';

type Fn = (...args: unknown[]) => unknown;
/** An undici handler, either API: we only forward to the methods it has. */
export type UndiciHandler = Partial<Record<string, Fn>>;
interface Controller {
  abort(reason: Error): void;
}

// What a handler of the new API is given before any controller exists (failed early).
function deadController(reason: Error): object {
  return { aborted: true, paused: false, reason, rawHeaders: null, rawTrailers: null, abort() {}, pause() {}, resume() {} };
}

/**
 * Common part: the op, and the interrupt already handed to the handler (or to nobody).
 * A fetch's request has no op of its own (null): the fetch's wait is its op.
 */
abstract class Track {
  op: AnyOp | null = null;
  /** Once set, undici's later calls (its own abort's error) are not forwarded. */
  failed: Error | null = null;

  constructor(readonly h: UndiciHandler) {}

  /** The response ended (or failed): the op is over, unless a cancel ended it first. */
  protected done(): void {
    if (this.op !== null && !this.op.settled) this.op.end();
  }

  /** The request failed: its op ends with that error (its end event says `error`). */
  protected fail(err: unknown): void {
    if (this.op !== null && !this.op.settled) this.op.reject(err);
  }

  // An upgraded socket (CONNECT, WebSocket) is the requester's from now on.
  protected handOver(socket: unknown): void {
    const sop = socket !== null && typeof socket === 'object' ? (socket as Record<symbol, AnyOp | undefined>)[kOp] : undefined;
    if (sop !== undefined && this.op !== null) hub.adopt(sop, this.op.flow);
  }

  /** Abort natively if the request has started, else fail it now. True: `reason` reached user code. */
  abstract interrupt(reason: Error, silent: boolean): boolean;
}

/** For handlers of undici's classic API (`onConnect(abort)` ... `onComplete`/`onError`). */
export class OldTrack extends Track {
  private abortFn: ((e: Error) => void) | null = null;

  onConnect(abort: (e: Error) => void, context: unknown): unknown {
    if (this.failed !== null) return abort(this.failed);
    this.abortFn = abort;
    return this.h.onConnect?.(abort, context);
  }
  onResponseStarted(): unknown {
    return this.failed === null ? this.h.onResponseStarted?.() : undefined;
  }
  onHeaders(statusCode: unknown, headers: unknown, resume: unknown, statusText: unknown): unknown {
    return this.failed === null ? this.h.onHeaders?.(statusCode, headers, resume, statusText) : false;
  }
  onData(chunk: unknown): unknown {
    return this.failed === null ? this.h.onData?.(chunk) : false;
  }
  onUpgrade(statusCode: unknown, headers: unknown, socket: unknown): unknown {
    this.done();
    this.handOver(socket);
    return this.h.onUpgrade?.(statusCode, headers, socket);
  }
  onRequestSent(): unknown {
    return this.h.onRequestSent?.();
  }
  onBodySent(chunk: unknown): unknown {
    return this.h.onBodySent?.(chunk);
  }
  onComplete(trailers: unknown): unknown {
    this.done();
    return this.failed === null ? this.h.onComplete?.(trailers) : undefined;
  }
  onError(err: unknown): unknown {
    this.fail(err);
    return this.failed === null ? this.h.onError?.(err) : undefined;
  }

  interrupt(reason: Error, silent: boolean): boolean {
    if (this.abortFn !== null) {
      if (silent) this.failed = reason;
      this.abortFn(reason); // undici calls onError(reason): the handler's promise rejects
      return !silent;
    }
    this.failed = reason;
    if (silent || typeof this.h.onError !== 'function') return false;
    this.h.onError(reason);
    return true;
  }
}

/** For handlers of undici 7's API (`onRequestStart(controller)` ... `onResponseEnd`/`onResponseError`). */
export class NewTrack extends Track {
  private ctrl: Controller | null = null;

  onRequestStart(ctrl: Controller, context: unknown): unknown {
    if (this.failed !== null) return ctrl.abort(this.failed);
    this.ctrl = ctrl;
    return this.h.onRequestStart?.(ctrl, context);
  }
  onResponseStarted(): unknown {
    return this.failed === null ? this.h.onResponseStarted?.() : undefined;
  }
  onRequestUpgrade(ctrl: unknown, statusCode: unknown, headers: unknown, socket: unknown): unknown {
    this.done();
    this.handOver(socket);
    return this.h.onRequestUpgrade?.(ctrl, statusCode, headers, socket);
  }
  onResponseStart(ctrl: unknown, statusCode: unknown, headers: unknown, statusMessage: unknown): unknown {
    return this.failed === null ? this.h.onResponseStart?.(ctrl, statusCode, headers, statusMessage) : undefined;
  }
  onResponseData(ctrl: unknown, chunk: unknown): unknown {
    return this.failed === null ? this.h.onResponseData?.(ctrl, chunk) : undefined;
  }
  onResponseEnd(ctrl: unknown, trailers: unknown): unknown {
    this.done();
    return this.failed === null ? this.h.onResponseEnd?.(ctrl, trailers) : undefined;
  }
  onResponseError(ctrl: unknown, err: unknown): unknown {
    this.fail(err);
    return this.failed === null ? this.h.onResponseError?.(ctrl, err) : undefined;
  }

  interrupt(reason: Error, silent: boolean): boolean {
    if (this.ctrl !== null) {
      if (silent) this.failed = reason;
      this.ctrl.abort(reason);
      return !silent;
    }
    this.failed = reason;
    if (silent || typeof this.h.onResponseError !== 'function') return false;
    this.h.onResponseError(deadController(reason), reason);
    return true;
  }
}

/** The hub handler of a request op: a cancel aborts the request. */
export const REQUEST: OpHandler<unknown> = {
  cancel(op, reason, silent) {
    try {
      return (op.data as Track).interrupt(reason, silent === true);
    } catch {
      return false; // undici's abort threw (a destroyed dispatcher): nothing more to stop
    }
  },
};

/** A handler wrapped for `op`'s request, in the API the handler speaks. */
export function track(h: UndiciHandler): OldTrack | NewTrack {
  return typeof h.onRequestStart === 'function' ? new NewTrack(h) : new OldTrack(h);
}

/** Fail a request before it is dispatched (its flow had a pending kill or timeout). */
export function failEarly(h: UndiciHandler, reason: Error): void {
  if (typeof h.onRequestStart === 'function') h.onResponseError?.(deadController(reason), reason);
  else if (typeof h.onError === 'function') h.onError(reason);
  else throw reason;
}
