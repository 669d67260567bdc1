/**
 * What crosses between a pool and its workers: the wire protocol and the claim ring of
 * threads, arguments checked at submit (and `transfer()` marks), errors as `RemoteError`s,
 * and where the entry scripts are. Definitions are in task-defs.ts, the worker side in
 * task-runner.ts. Limit: only direct arguments are transferred, never nested ones.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { serialize } from 'node:v8';
import { expected, quote } from '../internal/validate.js';
import type { Transferable } from './future.js';
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

/** True for a value marked by `transfer()` (a result, too, may be moved back). */
export function isMark(v: unknown): v is TransferMark {
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
