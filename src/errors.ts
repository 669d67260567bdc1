/**
 * The error classes greenio throws. Every one extends `GreenioError` and carries a
 * stable `code` (match on `code`, not on the message). Bad arguments are never these:
 * they are plain `TypeError`/`RangeError` quoting the value (see internal/validate.ts).
 */

/** Base class of every greenio error; `code` is stable across versions. */
export class GreenioError extends Error {
  /** A stable machine-readable code such as `'GREENIO_TIMEOUT'`. */
  readonly code: string;
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** @internal Give an error class its `name` (timeout.ts names `TimeoutError` with it). */
export function named<T extends new (...args: never[]) => Error>(cls: T, name: string): T {
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true, enumerable: false });
  return cls;
}

/**
 * The default error a `kill()` delivers. A greenlet that ends with it is
 * *successful*, with the `GreenletExit` as its value (gevent's rule).
 * @example
 * import { spawn, sleep, GreenletExit } from 'greenio';
 * const g = spawn(() => sleep(1000));
 * await g.kill();
 * console.log(g.value instanceof GreenletExit); // true
 */
export class GreenletExit extends GreenioError {
  constructor(message = 'greenlet killed') {
    super(message, 'GREENIO_GREENLET_EXIT');
  }
}
named(GreenletExit, 'GreenletExit');

// Where libraries keep the error they wrapped: the standard `cause` (axios, got, undici,
// Node's AbortError, drizzle), Sequelize's `parent`/`original`, TypeORM's `driverError`,
// objection's `nativeError`, and an AggregateError's `errors`.
const WRAP_FIELDS = ['cause', 'original', 'parent', 'driverError', 'nativeError'] as const;
const MAX_WRAPPED = 32;

/**
 * The first error, `error` itself or one it wraps (see WRAP_FIELDS; breadth first, at
 * most 32 errors, cycles stopped), that `test` accepts; undefined when none.
 * @internal
 */
export function findWrapped(error: unknown, test: (e: object) => boolean): object | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const seen: object[] = [error];
  for (let i = 0; i < seen.length; i++) {
    const e = seen[i]!;
    if (test(e)) return e;
    const add = (next: unknown): void => {
      if (next !== null && typeof next === 'object' && seen.length < MAX_WRAPPED && !seen.includes(next)) seen.push(next);
    };
    for (const f of WRAP_FIELDS) add((e as Record<string, unknown>)[f]);
    if (e instanceof AggregateError && Array.isArray(e.errors)) for (const x of e.errors as unknown[]) add(x);
  }
  return undefined;
}

/**
 * True if `error` is `target` or wraps it, however deep, where libraries keep a wrapped
 * error (`cause`, Sequelize's `parent`, TypeORM's `driverError`...: see findWrapped). A
 * greenio `target` also counts as wrapped by an error of a library that copied its `code`
 * and message but dropped the error itself (node-fetch's `FetchError`: "request to ...
 * failed, reason: greenlet killed", code `GREENIO_GREENLET_EXIT`); never by another
 * greenio error, which keeps its identity.
 * @internal
 */
export function wraps(error: unknown, target: unknown): boolean {
  if (error === target) return true;
  if (target === null || typeof target !== 'object') return false;
  if (!(target instanceof GreenioError)) return findWrapped(error, (e) => e === target) !== undefined;
  const { code, message } = target;
  return findWrapped(error, (e) => e === target || copies(e, code, message)) !== undefined;
}

function copies(e: object, code: string, message: string): boolean {
  if ((e as { code?: unknown }).code !== code || e instanceof GreenioError) return false;
  const m = (e as { message?: unknown }).message;
  return typeof m === 'string' && m.includes(message);
}

/** `getNowait()` / `get({ block: false })` / a timed-out `get` on an empty queue. */
export class QueueEmpty extends GreenioError {
  constructor(message = 'queue is empty') {
    super(message, 'GREENIO_QUEUE_EMPTY');
  }
}
named(QueueEmpty, 'QueueEmpty');

/** `putNowait()` / `put({ block: false })` / a timed-out `put` on a full queue. */
export class QueueFull extends GreenioError {
  constructor(message = 'queue is full') {
    super(message, 'GREENIO_QUEUE_FULL');
  }
}
named(QueueFull, 'QueueFull');

/** Any operation on a queue after `shutdown()` (a `get` only once it is also empty). */
export class QueueShutDown extends GreenioError {
  constructor(message = 'queue is shut down') {
    super(message, 'GREENIO_QUEUE_SHUT_DOWN');
  }
}
named(QueueShutDown, 'QueueShutDown');

/** `submit()`/`spawn()` on a pool after `close()`. */
export class PoolClosedError extends GreenioError {
  constructor(message = 'pool is closed') {
    super(message, 'GREENIO_POOL_CLOSED');
  }
}
named(PoolClosedError, 'PoolClosedError');

/** The outcome of a cancelled `Future`. */
export class CancelledError extends GreenioError {
  constructor(message = 'cancelled') {
    super(message, 'GREENIO_CANCELLED');
  }
}
named(CancelledError, 'CancelledError');

/** A `*Sync` call refused inside a greenlet under `syncIO: 'throw'`. */
export class BlockingCallError extends GreenioError {
  /** The refused function, such as `'fs.readFileSync'`. */
  readonly call: string;
  constructor(call: string, message?: string) {
    super(message ?? `${call}() blocks the event loop and was refused (syncIO: 'throw')`, 'GREENIO_BLOCKING_CALL');
    this.call = call;
  }
}
named(BlockingCallError, 'BlockingCallError');

/**
 * An error raised in a worker thread or child process, carried back with the remote
 * error's name, message and stack (the local `stack` shows both).
 */
export class RemoteError extends GreenioError {
  readonly remoteName: string;
  readonly remoteMessage: string;
  readonly remoteStack: string | undefined;
  /** The remote error's own `code`, if it had one. */
  readonly remoteCode: unknown;
  constructor(remote: { name?: unknown; message?: unknown; stack?: unknown; code?: unknown }) {
    const name = typeof remote.name === 'string' ? remote.name : 'Error';
    const message = typeof remote.message === 'string' ? remote.message : String(remote.message);
    super(`${name}: ${message}`, 'GREENIO_REMOTE');
    this.remoteName = name;
    this.remoteMessage = message;
    this.remoteStack = typeof remote.stack === 'string' ? remote.stack : undefined;
    this.remoteCode = remote.code;
    if (this.remoteStack) this.stack = `${this.stack}\n--- remote stack ---\n${this.remoteStack}`;
  }
}
named(RemoteError, 'RemoteError');

/**
 * A worker thread or child process died (exited, crashed on an uncaught exception, was
 * killed by a signal) while it ran this task. The pool replaced it.
 * @example
 * import { ThreadPool, WorkerExitError } from 'greenio';
 * const pool = new ThreadPool({ size: 1 });
 * const e = await pool.submit(() => process.exit(3)).exception();
 * console.log(e instanceof WorkerExitError && e.exitCode); // 3
 * await pool.close();
 */
export class WorkerExitError extends GreenioError {
  /** The exit code, or null if a signal ended it. */
  readonly exitCode: number | null;
  /** The signal that ended a child process (`'SIGKILL'`), or null. */
  readonly signal: string | null;
  /** The thread id or process id of the worker that died. */
  readonly workerId: number;
  constructor(message: string, exitCode: number | null, signal: string | null, workerId: number, cause?: unknown) {
    super(message, 'GREENIO_WORKER_EXIT', cause === undefined ? undefined : { cause });
    this.exitCode = exitCode;
    this.signal = signal;
    this.workerId = workerId;
  }
}
named(WorkerExitError, 'WorkerExitError');

/**
 * gevent's `LoopExit`: the process is about to exit while the main greenlet still
 * waits on something nothing will ever complete.
 */
export class LoopExitError extends GreenioError {
  constructor(message = 'this operation would block forever') {
    super(message, 'GREENIO_LOOP_EXIT');
  }
}
named(LoopExitError, 'LoopExitError');

/** One greenlet of a deadlock: what it waits on, held by the next one, and where. */
export interface DeadlockEdge {
  /** The waiting greenlet's id and label (`Greenlet-3 (transfer)`). */
  greenlet: number;
  label: string;
  /** What it waits on: `<Lock 'a' counter=0, 1 waiting>`, or the greenlet it joins. */
  waitsOn: string;
  /** The call site of its wait (or of the wait that closed the cycle), when known. */
  site: string | null;
}

/**
 * A wait that would close a cycle of the wait-for graph (A holds L1 and waits for L2,
 * which B holds while waiting for L1; or two greenlets joining each other): thrown into
 * the greenlet whose wait closed it, when `config.deadlock` is `'throw'`.
 * @example
 * import { DeadlockError } from 'greenio';
 * const e = new DeadlockError([]);
 * console.log(e.code); // 'GREENIO_DEADLOCK'
 */
export class DeadlockError extends GreenioError {
  /** The cycle, starting with the greenlet whose wait closed it. */
  readonly cycle: readonly DeadlockEdge[];
  constructor(cycle: readonly DeadlockEdge[], message?: string) {
    super(message ?? `deadlock: ${cycle.map((e) => `${e.label} waits on ${e.waitsOn}`).join(', ')}`, 'GREENIO_DEADLOCK');
    this.cycle = cycle;
  }
}
named(DeadlockError, 'DeadlockError');
