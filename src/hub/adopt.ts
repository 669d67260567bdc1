/**
 * A wait on a client's own promise: the greenlet awaits the promise the client returns
 * (node-redis's command promise) and the op holds that promise's settlers, so a kill or
 * timeout rejects it at once with its error and the client's late reply, routed through
 * `op.resolve`, finds the op settled and is dropped. No promise of the hub's, no reaction
 * per wait. Limits: no own timeout and no deadlock edge (plain IO waits only); the caller
 * must hand the settlers over (or ask for `ownPromise`) before its synchronous run ends.
 */
import type { Kind } from './kinds.js';
import type { Flow, Op, OpHandler } from './ops.js';
import { beginOp } from './switch.js';

/**
 * Begin a wait in the current flow whose promise is not the hub's: the caller then starts
 * the operation, and hands over the settlers of the promise it returns to the greenlet
 * (`adoptSettlers`), or asks for the hub's own (`ownPromise`) when the client has none to
 * give. If an interrupt is pending (a kill, a fired Timeout), no op is made and its error
 * is returned instead: do not start the operation, reject with it. The op counts as a wait
 * from its start (the greenlet is in a greenio wait), before the client has made its promise.
 * `handler.start` is not called (the caller starts); `handler.cancel` is, on an interrupt,
 * before the adopted `reject` receives the interrupt's error. `flow`: the current flow when
 * the caller has just read it (`currentFlow()`): one context read per operation, not two.
 */
export function beginWait<T>(k: Kind, detail: unknown, handler: OpHandler<T>, data?: unknown, flow?: Flow): Op<T> | Error {
  return beginOp(k, detail, handler, data, true, flow);
}

/**
 * The op (from `beginWait`) settles the client's promise: `res`/`rej` are its settlers
 * (the client's queue entry's `resolve`/`reject`). The client's own settling must go
 * through `op.resolve`/`op.reject` from now on (false returned by `op.settled` tells a
 * late reply to drop). Call it synchronously after `beginWait`.
 */
export function adoptSettlers<T>(op: Op<T>, res: (value: T) => void, rej: (error: unknown) => void): void {
  op.res = res;
  op.rej = rej;
}

/** The op (from `beginWait`) has no client settlers to adopt: the promise the greenlet awaits is the hub's. */
export function ownPromise<T>(op: Op<T>): Promise<T> {
  return new Promise<T>((res, rej) => {
    op.res = res;
    op.rej = rej;
  });
}
