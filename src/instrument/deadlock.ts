/**
 * The wait-for graph of locks and joins, checked when a wait of an edge kind begins: a
 * greenlet waiting on a lock points to its holder, one joining a greenlet to that
 * greenlet. A wait that closes a cycle is a deadlock, reported at once on stderr (or
 * failed with a `DeadlockError`: `config.deadlock`). A greenlet that dies holding a
 * lock is reported, and a `Lock` it held is released (trio's rule). Limits: the main
 * greenlet (many flows at once) and counting semaphores are not followed; of a greenlet
 * waiting in several flows at once, only its first lock wait or join is followed.
 */
import * as hub from '../hub/index.js';
import { config } from '../internal/config.js';
import { greenletLabel } from '../hub/index.js';
import { DeadlockError, type DeadlockEdge } from '../errors.js';
import { holdsAny, type HoldView } from './resources.js';
import { holdTargets } from './leaks.js';
import { functionSite } from '../internal/unreachable.js';

const K_ACQUIRE = hub.kind('semaphore.acquire');
const K_JOIN = hub.kind('join');
K_ACQUIRE.edge = true;
K_JOIN.edge = true;

/** Call sites of edge waits whose greenlet could be in a cycle (it holds a lock or is joined). */
const sites = new WeakMap<hub.AnyOp, string>();

/** Deadlocks found, newest last (the last 16), for `greenio ps`. */
export const deadlocks: Array<{ at: number; cycle: DeadlockEdge[] }> = [];
const reported = new Set<string>();

// A lock's waiters-and-holders record (lock-base.ts's Holders), as its waits carry it.
interface HoldersView {
  holder: hub.Core | null;
  n: number;
  readonly one: boolean;
}

/**
 * What an edge wait waits for: the holder of an exclusive lock, or the joined greenlet. A
 * lock's wait carries its holders' record as `op.data` (lock.ts's Holders): read there,
 * not through the lock, which its wait's detail holds only weakly (a deref per wait costs).
 * A counting semaphore's record (`one` false) has no sole holder: its wait ends here.
 */
function target(op: hub.AnyOp): hub.Core | null {
  if (op.kind === K_JOIN) return op.detail instanceof hub.Core ? op.detail : null;
  const h = op.data as HoldersView | null;
  return h !== null && typeof h === 'object' && h.one === true && h.n === 0 ? h.holder : null;
}

// A wait whose call site was not kept (its greenlet held only unnamed locks nobody had
// waited on): where its function is defined, read now (once per function).
function fnSite(g: hub.Core): string | null {
  const site = functionSite((g as { _fn?: unknown })._fn);
  return site === '' ? null : `${(g as { fnName?: string }).fnName || '(anonymous)'} defined at ${site}`;
}

function describeWait(op: hub.AnyOp): string {
  const d = op.detail as { describe?: () => string } | hub.Core; // a WaitTarget describes its lock
  if (d instanceof hub.Core) return `join of ${greenletLabel(d)}`;
  return typeof d?.describe === 'function' ? d.describe() : op.kind.name;
}

// `Error.captureStackTrace` without the frames of greenio itself.
function callSite(): string {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 12;
  Error.captureStackTrace(holder, callSite);
  Error.stackTraceLimit = limit;
  const lines = (holder.stack ?? '').split('\n').slice(1).map((l) => l.trim().replace(/^at /, ''));
  const own = /[\\/](src|dist[\\/]src)[\\/](hub[\\/][\w-]+|lock|semaphore|greenlet|instrument[\\/]deadlock)\.[jt]s:/;
  return lines.filter((l) => !own.test(l)).slice(0, 3).join(' < ');
}

// Acquire waits and joins (a counting semaphore's acquire too: `target` finds no holder).
function isEdge(k: hub.Kind): boolean {
  return k === K_ACQUIRE || k === K_JOIN;
}

// The first unsettled edge wait among a flow's ops, or null.
function edgeOpOf(f: hub.Flow): hub.AnyOp | null {
  const cur = f.ops;
  if (cur === null) return null;
  if (!(cur instanceof Set)) return cur.isWait && isEdge(cur.kind) && !cur.settled ? cur : null;
  for (const op of cur) if (op.isWait && isEdge(op.kind) && !op.settled) return op;
  return null;
}

// The first edge wait of `g` (its root flow, then its sub-flows), without allocating.
function edgeWaitOf(g: hub.Core): hub.AnyOp | null {
  if (g.waitCount === 0) return null;
  const own = edgeOpOf(g);
  if (own !== null) return own;
  const subs = g.x === null ? null : g.x.subflows;
  if (subs !== null) for (const f of subs) {
    const op = edgeOpOf(f);
    if (op !== null) return op;
  }
  return null;
}

// Follow the chain from `first` (each greenlet's first edge wait); the ops on the way,
// when it comes back to `me` (a cycle), else null. Bounded: a chain is short.
function chainTo(me: hub.Core, first: hub.Core, record: hub.AnyOp[] | null): boolean {
  let g = first;
  for (let hops = 0; hops < 256; hops++) {
    if (g === me) return true;
    if (g.isMain || g.state === hub.State.Dead) return false;
    const w = edgeWaitOf(g);
    if (w === null) return false;
    const next = target(w);
    if (next === null) return false;
    record?.push(w);
    g = next;
  }
  return false;
}

/**
 * The hub calls this when an edge wait begins, before it parks: follow holders and joined
 * greenlets from what it waits for; reaching its own greenlet again is a cycle.
 */
function onEdge(op: hub.AnyOp): Error | null {
  if (op.kind === K_ACQUIRE) {
    // A lock's wait (a counting semaphore's has a kind of its own, no edge: lock-base.ts),
    // its holders' record in `op.data`, exclusive. Held by one greenlet alive, not this one,
    // and in no wait (running, or handed the lock and ready to run: the common case of a
    // contended lock): no cycle can close through it, and nothing is kept. Kept small so
    // the hub's call stays cheap; the rest is apart.
    const h = op.data as HoldersView;
    const first = h.n === 0 ? h.holder : null;
    if (first === null || (first.waitCount === 0 && first !== op.flow.greenlet && first.state !== hub.State.Dead)) return null;
    return checkEdge(op, first);
  }
  const first = target(op);
  return first === null ? null : checkEdge(op, first);
}

// The rest of the check: a holder that waits too, a join, a dead holder, a lock held by its waiter.
function checkEdge(op: hub.AnyOp, first: hub.Core): Error | null {
  if (config.deadlock === 'off') return null;
  const me = op.flow.greenlet;
  if (me.isMain || first.isMain) return null;
  if (first.state === hub.State.Dead) {
    ownerDead(op, first);
    return null;
  }
  if (!chainTo(me, first, null)) {
    // Could this wait end up in a cycle? Then keep its call site for the report: a
    // greenlet joining another (rarer than main joining all), or waiting while holding a
    // lock for a holder parked in a wait of its own (one only ready to run, as in a lock
    // handed round a busy group, is not looked at: that walk would cost each hand-off;
    // such a cycle is still found, with the function's site for this wait).
    if (op.kind === K_JOIN || (first.waitCount > 0 && holdsAny(me))) sites.set(op, callSite());
    return null;
  }
  const path: hub.AnyOp[] = [op];
  chainTo(me, first, path);
  sites.set(op, callSite());
  const edges: DeadlockEdge[] = path.map((w) => ({
    greenlet: w.flow.greenlet.id,
    label: greenletLabel(w.flow.greenlet),
    waitsOn: describeWait(w),
    site: sites.get(w) ?? fnSite(w.flow.greenlet),
  }));
  const err = new DeadlockError(edges);
  const key = edges.map((e) => `${e.greenlet}>${e.waitsOn}`).sort().join('|');
  if (!reported.has(key)) {
    reported.add(key);
    deadlocks.push({ at: performance.now(), cycle: edges });
    if (deadlocks.length > 16) deadlocks.shift();
    const lines = edges.map((e) => `  ${e.label} waits on ${e.waitsOn}${e.site ? `\n    at ${e.site}` : ''}`);
    process.stderr.write(`greenio: deadlock: ${edges.length} greenlet(s) wait on each other${config.deadlock === 'throw' ? ` (DeadlockError thrown into ${edges[0]!.label})` : ''}:\n${lines.join('\n')}\n`);
  }
  return config.deadlock === 'throw' ? err : null;
}

function ownerDead(op: hub.AnyOp, owner: hub.Core): void {
  process.stderr.write(`greenio: ${greenletLabel(op.flow.greenlet)} waits on ${describeWait(op)}, held by ${greenletLabel(owner)}, which is dead\n`);
}

type Reclaimable = HoldView & { _releaseOnOwnerDeath?: boolean; _releaseFor(g: hub.Core): void };

/**
 * A greenlet died: report what it still held; release a `Lock` (nobody else can). Only the
 * locks someone waited on are looked at (through their WaitTargets); one taken and never
 * waited on is released by its next acquirer (`reclaimFromDead`).
 */
function onDeath(g: hub.Core): void {
  if (config.deadlock === 'off' || holdTargets.size === 0) return;
  let held: Reclaimable[] | null = null;
  for (const t of holdTargets) {
    const h = t.owner() as Reclaimable | null;
    // Locks only: a semaphore's permit may outlive its taker by design (another releases it).
    if (h === null || h._releaseOnOwnerDeath === undefined || !h.heldBy(g)) continue;
    (held ??= []).push(h);
  }
  if (held === null) return;
  for (const h of held) {
    const release = h._releaseOnOwnerDeath === true;
    process.stderr.write(`greenio: ${greenletLabel(g)} died holding ${h.describe()}${release ? '; released it' : ''}\n`);
    if (release) h._releaseFor(g);
  }
}

/**
 * A `Lock` whose holder `g` is dead, found by an acquire (nobody waited on it when `g`
 * died): report it and release it for `g` (false, doing nothing, under `config.deadlock = 'off'`). @internal
 */
export function reclaimFromDead(lock: object, g: hub.Core): boolean {
  if (config.deadlock === 'off') return false; // as at a death: off leaves it held
  const h = lock as Reclaimable;
  process.stderr.write(`greenio: ${greenletLabel(g)} died holding ${h.describe()}; released it\n`);
  h._releaseFor(g);
  return true;
}

let watching = false;
/**
 * Arms the wait-for graph (the hub's edge and death hooks); called by lock.ts when it
 * loads, explicitly rather than through a side-effect import. Idempotent.
 */
export function watchDeadlocks(): void {
  if (watching) return;
  watching = true;
  hub.setEdgeHook(onEdge);
  hub.setDeathHook(onDeath);
}
