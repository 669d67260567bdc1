/**
 * A node-redis command in flight as a greenlet op (patches/redis.ts for v5 and v6,
 * redis4.ts for v4): what the op holds of it, what its interrupted end says, how a cancel
 * ends a blocking one on the server (redis-conn.ts) and how its reply or error settles the
 * op (a late one dropped, a blocking pop's item put back). Limit: a command that does not
 * block runs on once sent; only its result is dropped.
 */
import type * as hub from '../src/hub/index.js';
import type { AnyFunction } from '../src/internal/wrap.js';
import { describeCommand, K_REDIS, SENT_RUNS_WHOLE, unblockDetached } from './redis-common.js';
import { blockingDone, dropLate, unblock, type Client, type IdInfo, type Sent } from './redis-conn.js';
import type { NotedHandler } from './client-ops.js';

/**
 * One command in flight: the op's data and (through `describe`) its detail. Kept small:
 * a plain command sent at once needs no more; `Blocking` carries what its unblock and
 * put-back need (redis.ts' `Deferred`: what a send on the op's start needs).
 */
export class CommandOp {
  replied = false;
  op: hub.Op<unknown> = null as unknown as hub.Op<unknown>;
  constructor(
    readonly args: readonly unknown[],
    readonly blocking: boolean,
  ) {}
  describe(): string {
    return describeCommand(String(this.args[0]), this.args.slice(1));
  }
}

/** A command that can block its connection on the server: ended by `CLIENT UNBLOCK` if cancelled (redis-conn.ts). */
export class Blocking extends CommandOp implements Sent {
  idInfo: IdInfo | null = null;
  constructor(
    args: readonly unknown[],
    readonly client: Client,
    /** node-redis's own `sendCommand`. */
    readonly send: AnyFunction,
  ) {
    super(args, true);
  }
}

// Queued or written, a command that does not block is sent and runs (see the header).
export const noteOf = (s: CommandOp): string | undefined => (s.blocking ? undefined : SENT_RUNS_WHOLE);
export function cancelOf(s: CommandOp): false {
  if (s.blocking) unblockDetached(() => unblock(s as Blocking));
  return false;
}

export function replied(s: CommandOp, v: unknown): void {
  s.replied = true;
  const op = s.op;
  if (s.blocking) {
    blockingDone(s as Blocking);
    if (op.settled) return dropLate(s as Blocking, v);
  }
  if (op.settled) K_REDIS.dropped++;
  else op.resolve(v);
}

export function failed(s: CommandOp, e: unknown): void {
  s.replied = true;
  if (s.blocking) blockingDone(s as Blocking);
  s.op.reject(e);
}

/**
 * The handler of a command sent when its op starts (so a pending kill or timeout rejects
 * the wait before anything is sent): `sendIt(data, op)` sends `data.s` and returns the
 * client's promise of its reply, which settles the op.
 */
export function sentOnStart<D extends { readonly s: CommandOp }>(sendIt: (data: D, op: hub.Op<unknown>) => Promise<unknown>): NotedHandler<unknown> {
  return {
    note: (op) => noteOf((op.data as D).s),
    start(op) {
      const d = op.data as D;
      const s = d.s;
      s.op = op;
      sendIt(d, op).then((v) => replied(s, v), (e: unknown) => failed(s, e));
    },
    cancel: (op) => cancelOf((op.data as D).s),
  };
}
