/**
 * How a greenlet's end reaches others and is told (greenlet.ts uses these): its joiners
 * (`join()`/`get()` waits and watchers), the outcome of the error it died of (a wrapped
 * kill, its own quiet Timeout), the warnings for a failure nobody joined and for a kill
 * that had to abandon it, and gevent's LoopExit report when the process exits while
 * greenlets still wait. Limit: warnings go to stderr, the abandoned one once per site.
 */
import * as hub from './hub/index.js';
import { greenletLabel, ms as fmtMs, opText, Op, type AnyOp, type OpHandler, type Waitable, type Watcher } from './hub/index.js';
import { functionSite, reachHint, warnOnce } from './internal/unreachable.js';
import { findWrapped, wraps } from './errors.js';
import { TimeoutError } from './timeout.js';

/** A greenlet's `_bits`: it failed; someone joined it or linked to it. */
export const FAILED = 1;
export const OBSERVED = 2;

/** What joiners use of a greenlet (greenlet.ts `Greenlet`), named structurally: this file sits below it. */
interface Joined extends Waitable {
  readonly _result: unknown;
  readonly _bits: number;
  _watch(w: AnyOp | Watcher): void;
  _unwatch(w: AnyOp | Watcher): void;
}

/** `join()`: a wait for the greenlet's death (its own timeout resolves it). */
export const JOIN_HANDLER: OpHandler<void> = {
  cancel(op) {
    (op.data as Joined)._unwatch(op);
  },
  timeout(op) {
    (op.data as Joined)._unwatch(op);
    op.resolve(undefined);
  },
  start(op) {
    (op.data as Joined)._watch(op);
  },
};
/** `get()`: the same wait, settled with the greenlet's value or error. */
export const GET_HANDLER: OpHandler<unknown> = {
  start: JOIN_HANDLER.start as OpHandler<unknown>['start'],
  cancel: JOIN_HANDLER.cancel as OpHandler<unknown>['cancel'],
};

/** Tell a joiner (a join/get wait, or a watcher) that `g` is dead. */
export function notifyWatcher(w: AnyOp | Watcher, g: Joined): void {
  if (w instanceof Op) {
    if (w.handler === GET_HANDLER && (g._bits & FAILED) !== 0) w.reject(g._result);
    else w.resolve(w.handler === GET_HANDLER ? g._result : undefined);
  } else {
    w.onReady(g);
  }
}

/** Say on stderr that a greenlet failed and nobody joined it (its error would be lost). */
export function reportUnjoined(name: string, fnName: string, e: unknown): void {
  const fn = fnName ? ` (${fnName})` : '';
  const detail = e instanceof Error ? (e.stack ?? String(e)) : String(e);
  process.stderr.write(`greenio: ${name}${fn} failed and nobody joined it: ${detail}\n`);
}

/**
 * The error `g` died of, as its outcome: a library's error that wraps the greenlet's
 * kill error, or its own quiet Timeout's error, counts as that error (axios wraps the
 * abort reason in an AxiosError's `cause`, Sequelize in its error's `parent`).
 */
export function unwrapOwnError(v: unknown, g: hub.Core): unknown {
  if (v === null || typeof v !== 'object') return v;
  const r = g.x;
  if (r !== null && r.killed !== null) {
    if (v === r.killed) return v;
    if (wraps(v, r.killed)) return r.killed;
  }
  const own = findWrapped(v, (e) => isQuietTimeoutOf(e, g));
  if (own !== undefined) return own;
  // A library that kept only its code and message (node-fetch, Prisma): the last quiet one that fired.
  const quiet = r?.quietFired;
  return quiet != null && wraps(v, quiet) ? quiet : v;
}

/** True for the error of a quiet Timeout (`error: false`) of `g`: it ends `g` successfully. */
export function isQuietTimeoutOf(v: unknown, g: hub.Core): boolean {
  return v instanceof TimeoutError && v.timeout !== undefined && v.timeout.error === false && v.timeout.greenlet === g;
}

const K_KILL_ABANDONED = hub.kind('kill abandoned');

/** Say (stderr, once per site, and as an `abandoned` op) that a kill of `g`, running `fn`, had to abandon it. */
export function reportAbandonedKill(g: hub.Core, fn: unknown, fnName: string, killedAt: number): void {
  const site = functionSite(fn);
  const name = fnName || 'its function';
  const what = `killed: ${name}${site ? ` (${site})` : ''} awaits a promise greenio cannot see`;
  hub.publishAbandoned(g, K_KILL_ABANDONED, what, killedAt, g.killed);
  const err = g.killed;
  warnOnce(
    site || `${name}${String(fn).slice(0, 200)}`,
    `kill() of ${greenletLabel(g)} could not interrupt ${name}${site ? ` at ${site}` : ''}: it awaits a promise greenio cannot see, so the greenlet was abandoned (declared dead with ${err?.name ?? 'its kill error'}; its next greenio wait throws). To make it reachable, ${reachHint()}. (config.warnUnreachable = false silences this.)`,
  );
}

let exitReportInstalled = false;

/** Report, once the loop is about to exit, the greenlets that still wait (armed at the first start). */
export function watchStuckAtExit(): void {
  if (exitReportInstalled) return;
  exitReportInstalled = true;
  process.once('beforeExit', reportStuckAtExit);
}

/**
 * gevent's LoopExit: the loop is empty, so greenlets still in a greenio wait will never
 * be woken. Say who waits on what instead of exiting silently.
 */
function reportStuckAtExit(): void {
  const stuck = [hub.main, ...hub.liveGreenlets()].filter((g) => g.waitCount > 0);
  if (stuck.length === 0) return;
  const now = performance.now();
  const lines = stuck.map((g) => {
    const waits = hub.opsOf(g).filter((op) => op.isWait);
    return `  ${greenletLabel(g)} waits on ${waits.map((op) => `${opText(op)} (for ${fmtMs(now - op.since)})`).join(', ')}`;
  });
  process.stderr.write(
    `greenio: the process is exiting while ${stuck.length} greenlet(s) still wait on something nothing will complete (this operation would block forever):\n${lines.join('\n')}\n`,
  );
}

/** Where a greenlet is being created: the caller's frames (with `config.trackGreenletTree`). */
export function spawnSite(): string {
  const e: { stack?: string } = {};
  Error.captureStackTrace(e, spawnSite);
  return (e.stack ?? '').split('\n').slice(2, 8).join('\n');
}
