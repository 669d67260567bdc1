/**
 * What crosses between a pool and its workers: task definitions (a module export, or a
 * function sent as source, so it cannot close over variables), arguments checked at
 * submit, errors as `RemoteError`s; the `Backend`/`Slot` contract and entry scripts; and
 * the worker-side runner both entries share. Limit: only direct arguments are transferred.
 */
import { createRequire } from 'node:module';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { serialize } from 'node:v8';
import { expected, quote } from '../internal/validate.js';
import type { Future, Transferable } from './future.js';
import { RemoteError } from '../errors.js';

// Transferable is defined beside Future (a future carries its transfer list).
export type { Transferable } from './future.js';

/** A task given as a module file and the name of one of its exports (default `'default'`). */
export interface TaskFile {
  file: URL | string;
  name?: string;
}

// --- Wire protocol -----------------------------------------------------------------
// Parent to worker: `{ d: DefMsg[] }` (new task definitions) or a batch
// `[firstSeq, def, args, def, args, ...]` (tasks numbered firstSeq, firstSeq + 1...).
// Worker to parent: `[seq, OK | ERR | SKIPPED, value, micros]`, or `{ crash }` (a child
// about to die of an uncaught exception).
export const OK = 0;
export const ERR = 1;
export const SKIPPED = 2;

/** `[id, 0, source, name]` (a function) or `[id, 1, url, exportName]` (a module export). */
export type DefMsg = [number, 0 | 1, string, string];

// Claim slots (threads): one Int32 per task in a ring shared with the worker. The worker
// claims a task before running it and the parent can revoke one that is not claimed yet,
// both by compare-and-swap, so a task handed ahead to a busy worker can still be
// cancelled, and it is exactly known which task a terminated worker was running.
export const RING = 256;
export const RING_MASK = RING - 1;
export const PENDING = 0;
export const CLAIMED = 1;
export const DONE = 2;
export const REVOKED = 3;
/** The slot value for task `seq` in `state` (the sequence wraps at 2^29, the ring long before). */
export function tag(seq: number, state: number): number {
  return ((seq & 0x1fffffff) << 2) | state;
}

// --- Task definitions ---------------------------------------------------------------

/** A validated task definition: its cache key, the message that defines it, a label. */
export interface TaskDef {
  key: unknown;
  msg: (id: number) => DefMsg;
  label: string;
}

const NATIVE = /\{\s*\[native code\]\s*\}\s*$/;
// Sources already known to compile: a function written inline in a loop is checked once.
const compiled = new Set<string>();

/** Validate `task` (a function or `{ file, name }`) and describe it; throws `TypeError`. */
export function describeTask(task: unknown): TaskDef {
  if (typeof task === 'function') {
    const src = Function.prototype.toString.call(task);
    const name = (task as { name?: string }).name || 'anonymous';
    if (NATIVE.test(src)) throw new TypeError(`${expected('task', 'a function with JavaScript source (it is sent to the worker as text)', task)}: native and bound functions have none`);
    if (/^class\b/.test(src)) throw new TypeError(expected('task', 'a function, not a class', task));
    if (!compiled.has(src)) {
      try {
        // Compile only (nothing runs): a method shorthand `f() {}` is not an expression.
        new Function('__name', `return (${src}\n)`);
      } catch {
        throw new TypeError(`${expected('task', 'a standalone function expression (arrow, function or async function)', task)}: its source is not one (a method?); put it in a module and pass { file, name } instead`);
      }
      compiled.add(src);
    }
    // Keyed by source: an arrow function written in a loop is a new object each time,
    // but one definition for the workers.
    return { key: src, msg: (id) => [id, 0, src, name], label: name };
  }
  if (task === null || typeof task !== 'object' || !('file' in task)) {
    throw new TypeError(expected('task', 'a function or a { file, name } object', task));
  }
  const { file, name = 'default' } = task as TaskFile;
  if (typeof name !== 'string' || name === '') throw new TypeError(expected('task.name', 'a non-empty string (an export name)', name));
  const url = toUrl(file);
  return { key: `${url}#${name}`, msg: (id) => [id, 1, url, name], label: name === 'default' ? url.slice(url.lastIndexOf('/') + 1) : name };
}

function toUrl(file: unknown): string {
  if (file instanceof URL) return file.href;
  if (typeof file !== 'string' || file === '') throw new TypeError(expected('task.file', 'a URL or a path string', file));
  if (/^(file|data|node):/.test(file)) return new URL(file).href;
  // A path, like `node <path>`: relative ones are resolved against the working directory.
  return pathToFileURL(isAbsolute(file) ? file : resolvePath(file)).href;
}

// --- Arguments ------------------------------------------------------------------------

const kTransfer = Symbol.for('greenio.transfer');

/** A value marked by `transfer()`. */
interface TransferMark {
  [kTransfer]: true;
  value: unknown;
  list: readonly Transferable[];
}

/** Mark `value` to be moved, not copied, to or from a worker thread (see threadpool.ts). */
export function markTransfer<T>(value: T, transferList?: readonly Transferable[]): T {
  let list = transferList;
  if (list === undefined) {
    const MessagePortClass = (globalThis as { MessagePort?: abstract new () => object }).MessagePort;
    if (value instanceof ArrayBuffer || (MessagePortClass !== undefined && value instanceof MessagePortClass)) list = [value as unknown as Transferable];
    else if (ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer) list = [value.buffer];
    else throw new TypeError(expected('value', 'an ArrayBuffer, a view of one or a MessagePort (or give the transferList)', value));
  } else if (!Array.isArray(list)) {
    throw new TypeError(expected('transferList', 'an array of transferable objects', list));
  }
  return { [kTransfer]: true, value, list } as unknown as T;
}

function isMark(v: unknown): v is TransferMark {
  return typeof v === 'object' && v !== null && (v as TransferMark)[kTransfer] === true;
}

/**
 * Prepare arguments to be sent: unwrap `transfer()` marks (in place), collect their
 * transfer lists (threads only: processes always copy), and check that every argument
 * can be cloned, so that a bad one throws a `TypeError` at `submit`, quoting it.
 * Primitives and binary buffers need no check, which keeps tiny tasks and big buffers cheap.
 */
export function prepareArgs(args: unknown[], threads: boolean): Transferable[] | undefined {
  let xfer: Transferable[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (typeof a !== 'object' || a === null) {
      if (typeof a === 'function' || typeof a === 'symbol') throw notCloneable(i, a, threads, `a ${typeof a} cannot be cloned`);
      continue;
    }
    if (isMark(a)) {
      args[i] = a.value;
      if (threads) {
        // postMessage checks it when it sends; a failure there fails only this task.
        (xfer ??= []).push(...a.list);
        continue;
      }
    }
    const v = args[i] as object;
    // Binary data always clones (unless detached, which has no bytes): no copy to check it.
    if ((ArrayBuffer.isView(v) || v instanceof ArrayBuffer) && v.byteLength > 0) continue;
    try {
      if (threads) structuredClone(v);
      else serialize(v);
    } catch (e) {
      throw notCloneable(i, args[i], threads, e instanceof Error ? e.message : String(e));
    }
  }
  return xfer;
}

function notCloneable(i: number, value: unknown, threads: boolean, why: string): TypeError {
  const to = threads ? 'a worker thread (structured clone)' : 'a child process (v8 serialization)';
  return new TypeError(`Argument ${i + 1} of the task cannot be sent to ${to}: ${quote(value)}: ${why}`);
}

// --- Errors ----------------------------------------------------------------------------

/** An error as it crosses to the parent: plain strings only. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  code?: unknown;
}

export function encodeError(e: unknown): WireError {
  if (e instanceof Error || (typeof e === 'object' && e !== null && 'message' in e)) {
    const err = e as Error & { code?: unknown };
    const out: WireError = { name: String(err.name ?? 'Error'), message: String(err.message), stack: typeof err.stack === 'string' ? err.stack : undefined };
    const c = err.code;
    if (typeof c === 'string' || typeof c === 'number') out.code = c;
    return out;
  }
  return { name: 'Error', message: `the task threw a non-Error value: ${inspect(e, { depth: 2, breakLength: Infinity })}` };
}

export function decodeError(w: unknown): RemoteError {
  return new RemoteError((typeof w === 'object' && w !== null ? w : { message: String(w) }) as WireError);
}



// --- Workers as the pool drives them ---------------------------------------------------

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

/** The options both pools take. */
export interface TaskPoolOptions {
  /** The most workers at once (default `os.availableParallelism()`). */
  size?: number;
  /** Ms an idle worker lives before it exits (default 10,000; `Infinity`: never). */
  idleTimeout?: number;
  /** The most tasks waiting for a worker (default `Infinity`): see `submit` and `apply`. */
  maxQueue?: number;
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
}

// --- Entry scripts ---------------------------------------------------------------------

/**
 * The entry script of a worker, beside this file: `.js` in the built package, `.ts`
 * when greenio runs from its sources (vitest, tsx), where workers then need tsx.
 */
export function entryScript(name: 'thread-entry' | 'process-entry'): { url: URL; ts: boolean } {
  const ts = /\.[mc]?ts$/.test(new URL(import.meta.url).pathname);
  return { url: new URL(`./${name}${ts ? '.ts' : '.js'}`, import.meta.url), ts };
}

let tsxUrls: { loader: string; api: string } | undefined;

/** tsx's `--import` loader and its ESM register API, as file URLs (sources mode only). */
export function tsx(): { loader: string; api: string } {
  if (tsxUrls !== undefined) return tsxUrls;
  const req = createRequire(import.meta.url);
  let pkgPath: string;
  try {
    pkgPath = req.resolve('tsx/package.json');
  } catch {
    throw new Error('greenio runs from its TypeScript sources, so its pool workers need tsx, which cannot be found; build greenio (npm run build) or install tsx');
  }
  const pkg = req(pkgPath) as { exports: Record<string, unknown> };
  const api = (pkg.exports['./esm/api'] as { import: { default: string } }).import.default;
  const dir = pathToFileURL(pkgPath).href.replace(/package\.json$/, '');
  tsxUrls = { loader: new URL(pkg.exports['.'] as string, dir).href, api: new URL(api, dir).href };
  return tsxUrls;
}

/** Check `args` of `apply()` (an array), for a synchronous TypeError. */
export function checkArgs(args: unknown): unknown[] {
  if (args === undefined) return [];
  if (!Array.isArray(args)) throw new TypeError(expected('args', 'an array of arguments', args));
  return [...args];
}

// --- The worker side ---------------------------------------------------------------------

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
