/**
 * The handle convention: a long-lived handle (socket, server, child, request) is an op of
 * the flow that made it until its end event, so a kill or Timeout aborts it (`trackHandle`);
 * `destroyHandle` is the usual abort for a stream. Limit: a handle made before its flow's
 * Timeout started is not the Timeout's to abort (kill only).
 */
import * as hub from '../src/hub/index.js';
import type { AnyOp, Kind, OpHandler } from '../src/hub/index.js';
import { kOp } from '../src/internal/symbols.js';

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

