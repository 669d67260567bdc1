/**
 * `ThreadPool.map` / `ProcessPool.map`: one task per item of a sync or async input, read
 * as the queue has room, results in input order. On the first error, tasks not started are
 * cancelled; if the awaiting greenlet is interrupted, running ones are stopped too. Limit:
 * every future is kept until the end (results are collected, not streamed).
 */
import { FutureState, type Future } from './future.js';
import { PoolClosedError } from '../errors.js';

/** What a map needs of its pool (task-pool.ts `TaskPool`; an interface so this file stays below it). */
export interface TaskSource {
  make(task: unknown, args: unknown[]): Future;
  /** Queue `f` once there is room (undefined when queued at once). */
  admit(f: Future): Promise<void> | undefined;
  cancel(f: Future): boolean;
  abort(f: Future, reason: Error): void;
}

/** Run `task(item)` for each item of `iterable` on `pool` (`task` and `iterable` already checked). */
export async function mapTasks(pool: TaskSource, task: unknown, iterable: Iterable<unknown> | AsyncIterable<unknown>): Promise<unknown[]> {
  const fs: Future[] = [];
  let bad: unknown = fs; // an error of the input itself (fs: none yet)
  const sync = typeof (iterable as Iterable<unknown>)[Symbol.iterator] === 'function';
  const it = sync ? (iterable as Iterable<unknown>)[Symbol.iterator]() : (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  let read = false;
  try {
    for (;;) {
      let f: Future;
      try {
        const r = sync ? (it as Iterator<unknown>).next() : await (it as AsyncIterator<unknown>).next();
        if (r.done === true) break;
        f = pool.make(task, [r.value]);
      } catch (e) {
        bad = e;
        throw e;
      }
      const w = pool.admit(f);
      if (w !== undefined) await w;
      fs.push(f);
    }
    read = true;
    const out = new Array<unknown>(fs.length);
    for (let i = 0; i < fs.length; i++) {
      const f = fs[i]!;
      out[i] = f._state === FutureState.Finished ? f._value : await f.result();
    }
    return out;
  } catch (e) {
    // A task failed, the input did, or the pool closed: cancel what has not started.
    // The awaiting greenlet was interrupted (kill, Timeout): stop what runs as well.
    const hard = e !== bad && !(e instanceof PoolClosedError) && !fs.some((f) => f.done() && f._value === e);
    const reason = e instanceof Error ? e : new Error(String(e));
    for (const f of fs) if (!f.done()) void (hard ? pool.abort(f, reason) : pool.cancel(f));
    if (!read && e !== bad) void it.return?.();
    throw e;
  }
}
