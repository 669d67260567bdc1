/**
 * One worker as the pool drives it: the `Backend` that starts it (thread or child), its
 * `WorkerHandle`, and its `Slot`: the tasks handed to it, oldest first, and (threads) the
 * claim ring through which a task not yet started can be revoked. Limit: a child process
 * has no ring, so a task handed to it can no longer be taken back. The pool decides
 * what goes where and when (task-pool.ts); a slot only hands, matches and takes back.
 */
import { FutureState, type Future, type Transferable } from './future.js';
import { DONE, PENDING, REVOKED, RING, RING_MASK, tag } from './task-codec.js';
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

  /**
   * Hand `fs` to the worker in one message (the task definitions it lacks first). Where
   * postMessage refuses the batch (a transfer list it cannot honour), they go one by one,
   * so that only the culprit fails, with a TypeError.
   */
  hand(fs: Future[], defs: readonly unknown[]): void {
    const msg: unknown[] = [this.seq];
    const first = this.dq.length;
    let xfer: Transferable[] | undefined;
    for (const f of fs) {
      const seq = this.seq++;
      f._state = FutureState.Dispatched;
      f._slot = this;
      f._seq = seq;
      if (this.ring !== null) Atomics.store(this.ring, seq & RING_MASK, tag(seq, PENDING));
      msg.push(f._def, f._args);
      if (f._xfer !== undefined) (xfer ??= []).push(...f._xfer);
      this.dq.push(f);
    }
    if (this.defsSent < defs.length) {
      this.w.send({ d: defs.slice(this.defsSent) });
      this.defsSent = defs.length;
    }
    if (!this.refd) {
      this.refd = true;
      this.w.ref();
    }
    try {
      this.w.send(msg, xfer);
    } catch {
      this.#handOneByOne(first);
    }
  }

  #handOneByOne(first: number): void {
    const fs = this.dq.splice(first) as Future[];
    this.seq = fs[0]!._seq;
    for (const f of fs) {
      const seq = (f._seq = this.seq);
      if (this.ring !== null) Atomics.store(this.ring, seq & RING_MASK, tag(seq, PENDING));
      try {
        this.w.send([seq, f._def, f._args], f._xfer);
        this.seq++;
        this.dq.push(f);
      } catch (e) {
        f._slot = null;
        f._settle(FutureState.Failed, new TypeError(`The task's arguments cannot be sent to a worker thread: ${e instanceof Error ? e.message : String(e)}`));
      }
    }
  }

  /** The task a reply for `seq` answers; replies come in task order, entries moved to another worker are passed over. */
  answered(seq: number): Future | undefined {
    let f: Future | undefined;
    while (this.head < this.dq.length) {
      const g = this.dq[this.head];
      this.dq[this.head++] = undefined;
      if (g !== undefined && g._slot === this && g._seq === seq) {
        f = g;
        break;
      }
    }
    if (this.head === this.dq.length) {
      this.dq.length = 0;
      this.head = 0;
    }
    return f;
  }

  /** The tasks still handed to this worker and not done (in order), emptying its list. */
  release(): Future[] {
    const out: Future[] = [];
    for (let i = this.head; i < this.dq.length; i++) {
      const f = this.dq[i];
      if (f !== undefined && f._slot === this && !f.done()) out.push(f);
    }
    this.dq.length = 0;
    this.head = 0;
    return out;
  }

  /** Take back every task handed here but `f` that the worker has not claimed (threads only): they may go to another worker. */
  revokeAllBut(f: Future): Future[] {
    const back: Future[] = [];
    for (let i = this.head; i < this.dq.length; i++) {
      const g: Future | undefined = this.dq[i];
      if (g !== undefined && g !== f && g._slot === this && !g.done() && this.revoke(g._seq)) back.push(g);
    }
    return back;
  }

  /** Whether the worker has taken task `f` up (a child process's tasks count as taken once handed). */
  claimed(f: Future): boolean {
    return this.ring === null || Atomics.load(this.ring, f._seq & RING_MASK) !== tag(f._seq, PENDING);
  }

  /** Whether task `f` has run to its end here (its result on the way). */
  finished(f: Future): boolean {
    return this.ring !== null && Atomics.load(this.ring, f._seq & RING_MASK) === tag(f._seq, DONE);
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
