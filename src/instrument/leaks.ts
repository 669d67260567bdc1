/**
 * Leaked waiters: a contended wait on any primitive (Lock, RLock, Semaphore, Queue, Channel,
 * Event, AsyncResult) names it through a WaitTarget that holds it weakly, made at its first
 * such wait; once collected with waiters parked, each waiter is reported once on stderr and
 * kept for `greenio ps`. Limits: one the waiting code still holds (a local, a closure) stays
 * reachable; `wait([...])` holds what it waits on, so it is not watched.
 */
import * as hub from '../hub/index.js';
import { greenletLabel } from '../hub/index.js';
import type { WaitList } from '../hub/index.js';
import { config } from '../internal/config.js';
import { functionSite } from '../internal/unreachable.js';

/** A primitive as a wait on it describes it. */
export interface Describable {
  describe(): string;
}

/** One leaked wait, as `greenio ps --json` lists it. */
export interface LeakInfo {
  greenlet: number;
  label: string;
  /** What it waits on, as described when the primitive was found gone. */
  waitsOn: string;
  kind: string;
  /** `performance.now()` when its wait began and when the leak was found. */
  since: number;
  at: number;
  /** Where its function is defined (`file:line:column`), or null. */
  site: string | null;
}

/** Leaked waits found, newest last (the last 64), for `greenio ps`. */
export const leaks: LeakInfo[] = [];

/** How many wait on a primitive: a ParkedList's `size`, or a queue's lists' `live`. */
interface Waiters {
  readonly size?: number;
  readonly live?: number;
}

/**
 * The detail of the contended waits on a primitive: the primitive held weakly, plus what
 * to say of it once it is gone. Its waiter lists (which never point back) are kept here,
 * so a leaked waiter can still be killed, and a queue's waits find them (the hub's
 * GET/PUT handlers read `_getters`/`_putters` of the detail). @internal
 */
export class WaitTarget extends hub.WeakDetail {
  readonly #ref: WeakRef<Describable>;
  readonly type: string;
  /** `performance.now()` when the primitive was found collected; 0 while it lives. */
  leakedAt = 0;
  _getters: WaitList | null = null;
  _putters: WaitList | null = null;

  constructor(
    owner: Describable,
    readonly name: string | undefined,
    readonly waiters: Waiters | null,
  ) {
    super();
    this.#ref = new WeakRef(owner);
    this.type = owner.constructor.name;
    watch.register(owner, this);
    // A lock or semaphore: its holders are looked for here (deadlock.ts, resources.ts).
    if (typeof (owner as { heldBy?: unknown }).heldBy === 'function') holdTargets.add(this);
  }

  /** The primitive, or null once collected. */
  owner(): Describable | null {
    return this.#ref.deref() ?? null;
  }

  /** Waits parked on it now. */
  waiting(): number {
    const w = this.waiters;
    if (w !== null) return w.size ?? w.live ?? 0;
    return (this._getters?.live ?? 0) + (this._putters?.live ?? 0);
  }

  describe(): string {
    const o = this.#ref.deref();
    if (o !== undefined) return o.describe();
    const n = this.waiting();
    return `<${this.type}${this.name === undefined ? '' : ` '${this.name}'`} leaked${n > 0 ? `, ${n} waiting` : ''}>`;
  }
}

/**
 * The targets of locks and semaphores that ever had a contended wait, while they live:
 * where a dead owner's locks, a greenlet's held locks and the held ones for `ps` are found
 * (weakly: a held lock nothing can reach is collected, its waiters reported). @internal
 */
export const holdTargets = new Set<WaitTarget>();

// One registration per primitive that ever parked a waiter; the callback runs after the
// collector took it, and does something only if waiters were still parked on it.
const watch = new FinalizationRegistry<WaitTarget>((t) => {
  holdTargets.delete(t);
  if (t.waiting() > 0) found(t);
});

function found(t: WaitTarget): void {
  t.leakedAt = performance.now();
  if (config.deadlock === 'off') return;
  const what = t.describe();
  for (const g of [hub.main, ...hub.liveGreenlets()]) {
    for (const op of hub.opsOf(g)) {
      if (op.detail !== t || !op.isWait || op.settled) continue;
      const fn = (g as { _fn?: unknown })._fn;
      const site = functionSite(fn) || null;
      const label = greenletLabel(g);
      leaks.push({ greenlet: g.id, label, waitsOn: what, kind: op.kind.name, since: op.since, at: t.leakedAt, site });
      if (leaks.length > 64) leaks.shift();
      const forMs = (t.leakedAt - op.since).toFixed(0);
      process.stderr.write(`greenio: ${label} waits on ${what} that nothing can reach any more (leaked), since ${forMs} ms, in ${op.kind.name}${site === null ? '' : ` at ${site}`}\n`);
    }
  }
}

/**
 * The detail of the contended waits on `owner`, made at its first one (a WeakRef and a
 * FinalizationRegistry cell, about a microsecond, once per primitive): `waiters` counts
 * them (a ParkedList), or, for a queue or channel, `lists` (its getters and putters).
 * @internal
 */
export function waitDetail(owner: Describable, name: string | undefined, waiters: Waiters | null, lists?: { _getters: WaitList; _putters: WaitList }): WaitTarget {
  const t = new WaitTarget(owner, name, waiters);
  if (lists !== undefined) {
    t._getters = lists._getters;
    t._putters = lists._putters;
  }
  return t;
}

/** The primitive a wait's detail names (the target's owner; the target itself once leaked). @internal */
export function targetOwner(detail: unknown): unknown {
  return hub.detailOwner(detail);
}
