/**
 * One worker as the pool drives it: the `Backend` that starts it (thread or child), its
 * `WorkerHandle`, and its `Slot`: the tasks handed to it, oldest first, and (threads) the
 * claim ring through which a task not yet started can be revoked. Limit: a child process
 * has no ring, so a task handed to it can no longer be taken back.
 */
import type { Future, Transferable } from './future.js';
import { PENDING, REVOKED, RING, RING_MASK, tag } from './task-codec.js';
import { RemoteError, WorkerExitError } from '../errors.js';

/** A started worker thread or child process, as the pool drives it. */
export interface WorkerHandle {
  readonly id: number;
  send(msg: unknown, transfer?: Transferable[]): void;
  /** Stop it now, even mid-task (terminate, SIGKILL). */
  kill(): void;
  /** Stop an idle one (at close, or after `idleTimeout`). */
  stop(): void;
  ref(): void;
  unref(): void;
}

/** How one kind of pool starts its workers. */
export interface Backend {
  readonly name: 'ThreadPool' | 'ProcessPool';
  /** Worker threads: tasks handed ahead through a claim ring, transfer lists. */
  readonly threads: boolean;
  start(slot: Slot): WorkerHandle;
}

/** What a backend tells of its worker (task-pool.ts `TaskPool`; an interface so this file stays below it). */
export interface SlotOwner {
  onReply(s: Slot, m: unknown): void;
  onExit(s: Slot, code: number | null, signal: string | null): void;
}

/** One worker and the tasks handed to it, oldest first. */
export class Slot {
  w: WorkerHandle = null as unknown as WorkerHandle;
  readonly dq: Array<Future | undefined> = [];
  head = 0;
  seq = 0;
  readonly ring: Int32Array | null;
  defsSent = 0;
  replies = 0;
  idleSince = 0;
  refd = true;
  dying = false;
  crash: unknown = undefined;
  constructor(readonly pool: SlotOwner, threads: boolean) {
    this.ring = threads ? new Int32Array(new SharedArrayBuffer(RING * 4)) : null;
  }
  get inflight(): number {
    return this.dq.length - this.head;
  }

  /** `thread 3`, `pid 1234`: the worker, in messages. */
  get who(): string {
    return `${this.ring !== null ? 'thread' : 'pid'} ${this.w.id}`;
  }

  /** Take back task `seq` if the worker has not claimed it yet (threads only). */
  revoke(seq: number): boolean {
    const ring = this.ring;
    if (ring === null) return false;
    const pending = tag(seq, PENDING);
    return Atomics.compareExchange(ring, seq & RING_MASK, pending, tag(seq, REVOKED)) === pending;
  }

  /** What a task lost with this worker fails with: how it ended, and its uncaught error if any. */
  exitError(pool: string, code: number | null, signal: string | null): WorkerExitError {
    const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
    const started = this.replies > 0 ? 'while running this task' : 'before it could start';
    const c = this.crash;
    let why = '';
    if (c instanceof RemoteError) why = ` (uncaught ${c.remoteName}: ${c.remoteMessage})`;
    else if (c !== undefined) why = ` (uncaught ${(c as Error).name ?? 'Error'}: ${(c as Error).message ?? String(c)})`;
    return new WorkerExitError(`${pool} worker (${this.who}) ${how} ${started}${why}`, code, signal, this.w.id, c);
  }
}
