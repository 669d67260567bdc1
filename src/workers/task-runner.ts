/**
 * The worker side of a ThreadPool or ProcessPool, shared by both entry scripts: task
 * definitions rebuilt from their messages, each batch's tasks claimed and run one at a
 * time, each outcome posted as soon as it is known. Limits: a task's result must be
 * cloneable (else the task fails with a TypeError); one task runs at a time per worker.
 */
import { quote } from '../internal/validate.js';
import type { Transferable } from './future.js';
import { ERR, OK, SKIPPED, encodeError, isMark, type DefMsg } from './task-codec.js';

/** How the runner talks to its parent (a worker thread's port, a child's IPC channel). */
export interface RunnerIO {
  post(msg: unknown[], transfer?: readonly Transferable[]): void;
  /** Claim task `seq` before running it; false if the parent revoked it. */
  claim(seq: number): boolean;
  /** Task `seq` is finished and its reply posted. */
  finish(seq: number): void;
}

type TaskFn = (...args: unknown[]) => unknown;
type Def = TaskFn | Promise<TaskFn> | Error;

// esbuild (tsx, vitest) may wrap nested functions in `__name(fn, "name")` calls: give the
// rebuilt function that helper, or its source would not run outside its original module.
function keepName<F>(fn: F, name: string): F {
  try {
    Object.defineProperty(fn, 'name', { value: name, configurable: true });
  } catch {
    // a frozen function keeps its name
  }
  return fn;
}

function define(d: DefMsg): Def {
  if (d[1] === 0) {
    try {
      // sourceURL: the task's frames read `at add (greenio:task/add:1:20)` in remote stacks.
      const fn = new Function('__name', `return (${d[2]}\n)\n//# sourceURL=greenio:task/${d[3].replace(/[^\w$.-]/g, '_')}`)(keepName) as unknown;
      if (typeof fn !== 'function') return new TypeError('the task source did not evaluate to a function');
      return fn as TaskFn;
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  }
  const [, , url, name] = d;
  const p = import(url).then((mod: Record<string, unknown>) => {
    const fn = mod[name];
    if (typeof fn !== 'function') throw new TypeError(`export \`${name}\` of ${url} is not a function, got ${quote(fn)}`);
    return fn as TaskFn;
  });
  p.catch(() => {}); // the tasks that use it get the error; it is not unhandled
  return p;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as PromiseLike<unknown>).then === 'function';
}

/**
 * The worker side of a pool: runs the tasks of each batch one at a time, in order, and
 * posts each outcome as soon as it is known (never held back behind a later task).
 * Returns the function to call with each message from the parent.
 */
export function createRunner(io: RunnerIO): (msg: unknown) => void {
  const defs: Def[] = [];
  // Tasks received, not yet run: seq, def, args, seq, def, args...
  const q: unknown[] = [];
  let qh = 0;
  let busy = false;

  function reply(seq: number, code: number, value: unknown, t0: number): void {
    const us = Math.round((performance.now() - t0) * 1000);
    try {
      if (code === OK && isMark(value)) io.post([seq, OK, value.value, us], value.list);
      else io.post([seq, code, value, us]);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      io.post([seq, ERR, { name: 'TypeError', message: `the task's result cannot be sent back: ${quote(value)}: ${why}` }, us]);
    }
    io.finish(seq);
  }

  function settleAndGoOn(seq: number, code: number, value: unknown, t0: number): void {
    reply(seq, code, code === ERR ? encodeError(value) : value, t0);
    drain();
  }

  function drain(): void {
    busy = true;
    while (qh < q.length) {
      const seq = q[qh] as number;
      const def = defs[q[qh + 1] as number];
      const args = q[qh + 2] as unknown[];
      q[qh + 2] = undefined;
      qh += 3;
      if (!io.claim(seq)) {
        io.post([seq, SKIPPED, undefined, 0]);
        continue;
      }
      const t0 = performance.now();
      let r: unknown;
      try {
        if (typeof def === 'function') r = def(...args);
        else if (def instanceof Promise) r = def.then((fn) => fn(...args));
        else throw def ?? new Error('unknown task definition');
      } catch (e) {
        reply(seq, ERR, encodeError(e), t0);
        continue;
      }
      if (isThenable(r)) {
        r.then(
          (v) => settleAndGoOn(seq, OK, v, t0),
          (e: unknown) => settleAndGoOn(seq, ERR, e, t0),
        );
        return; // still busy: the next task starts once this one settles
      }
      reply(seq, OK, r, t0);
    }
    q.length = 0;
    qh = 0;
    busy = false;
  }

  return function onMessage(m: unknown): void {
    if (!Array.isArray(m)) {
      const ds = (m as { d?: DefMsg[] }).d;
      if (ds === undefined) return;
      for (const d of ds) {
        const id = d[0];
        const def = (defs[id] = define(d));
        // Once loaded, later tasks call the export directly (no promise hop).
        if (def instanceof Promise) def.then((fn) => (defs[id] = fn), (e: unknown) => (defs[id] = e instanceof Error ? e : new Error(String(e))));
      }
      return;
    }
    let seq = m[0] as number;
    for (let k = 1; k < m.length; k += 2) q.push(seq++, m[k], m[k + 1]);
    if (!busy) drain();
  };
}
