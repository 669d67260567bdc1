/**
 * What greenio's locks share (src/lock.ts's semaphores and src/rlock.ts's RLock): their
 * options, the acquire wait's kind and handler, the waiters-and-holder list their waits
 * carry, and `with()`'s body. Starts the wait-for graph's watch when locks first load.
 * Limit: internal; the public names are re-exported by lock.ts and rlock.ts.
 */
import * as hub from './hub/index.js';
import type { OpHandler } from './hub/index.js';
import { ParkedList, parkedHandler } from './hub/index.js';
import { watchDeadlocks } from './instrument/deadlock.js';

// The wait-for graph watches lock waits and joins from the moment locks exist.
watchDeadlocks();

// Two kinds of one name and shared totals (hub/kinds.ts `twinKind`): a lock's acquire is an
// edge of the wait-for graph (instrument/deadlock.ts marks it so when it loads), a counting
// semaphore's is not (no cycle goes through it), so its wait skips the graph's check. Each
// lock's waiters carry theirs (`Holders.kind`): a fixed flag the hub reads, where letting
// the check turn a counting semaphore's wait away cost about 85 instructions a wait on Node
// 26 (a call the hub cannot inline).
export const K_ACQUIRE = hub.kind('semaphore.acquire');
export const K_ACQUIRE_MANY = hub.twinKind(K_ACQUIRE, false);

export const TRUE: Promise<boolean> = Promise.resolve(true);
export const FALSE: Promise<boolean> = Promise.resolve(false);

/** Options of a lock's or semaphore's constructor. */
export interface LockOptions {
  /** A name for run-info, `greenio ps`/`top` and deadlock reports (named ones are always listed). */
  name?: string;
}

/** Options of `acquire()`. */
export interface AcquireOptions {
  /** Wait for a permit (default true); with false, resolve false at once if none is free. */
  block?: boolean;
  /** With `block`, give up after this many ms and resolve false. */
  timeout?: number;
}

// Waiting acquirers, FIFO, in a ParkedList (`op.data` while it waits).
export const ACQUIRE: OpHandler<boolean> = parkedHandler((op) => op.resolve(false));

/**
 * A lock's waiters and its first holder, in one object its waits carry (`op.data`) and its
 * WaitTarget keeps: the wait-for graph reads the holder here without reaching the lock,
 * which the target holds only weakly (so a lock nothing can reach is reported leaked).
 */
export class Holders extends ParkedList {
  holder: hub.Core | null = null;
  since = 0; // switchClock.now when `holder` took it
  n = 0; // extra holders (a counting semaphore's, kept by the lock)
  /** The kind of its waits: an edge of the wait-for graph for one permit only. */
  readonly kind: hub.Kind;
  constructor(readonly one: boolean) {
    super();
    this.kind = one ? K_ACQUIRE : K_ACQUIRE_MANY;
  }
  /** The one holder of an exclusive lock, or null: the wait-for edge. */
  soleHolder(): hub.Core | null {
    return this.one && this.n === 0 ? this.holder : null;
  }
}

/** Run `fn` holding `lock`, and release it however `fn` ends. */
export async function holding<T>(lock: { acquire(): Promise<boolean>; release(): void }, fn: () => T | Promise<T>): Promise<T> {
  await lock.acquire();
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
