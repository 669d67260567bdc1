/**
 * Leaked waiters: a wait on a watched Event or AsyncResult (named, or any with
 * `config.trackGreenletTree`) holds it weakly; once collected with waiters parked, each
 * waiter is reported once on stderr and kept for `greenio ps`. Limits: one the waiting code
 * still holds (a local, a closure) stays reachable; locks, queues, channels are not watched.
 */
import * as hub from '../hub/index.js';
import { greenletLabel } from '../hub/index.js';
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

/**
 * The detail of a wait on an Event or AsyncResult: the primitive held weakly, plus what
 * to say of it once it is gone. `waiters` is its waiter list (which never points back).
 * @internal
 */
export class WaitTarget {
  readonly #ref: WeakRef<Describable>;
  readonly type: string;
  /** `performance.now()` when the primitive was found collected; 0 while it lives. */
  leakedAt = 0;

  constructor(
    owner: Describable,
    readonly name: string | undefined,
    readonly waiters: { readonly size: number },
  ) {
    this.#ref = new WeakRef(owner);
    this.type = owner.constructor.name;
    watch.register(owner, this);
  }

  /** The primitive, or null once collected. */
  owner(): Describable | null {
    return this.#ref.deref() ?? null;
  }

  describe(): string {
    const o = this.#ref.deref();
    if (o !== undefined) return o.describe();
    const n = this.waiters.size;
    return `<${this.type}${this.name === undefined ? '' : ` '${this.name}'`} leaked${n > 0 ? `, ${n} waiting` : ''}>`;
  }
}

// One registration per primitive that ever parked a waiter; the callback runs after the
// collector took it, and does something only if waiters were still parked on it.
const watch = new FinalizationRegistry<WaitTarget>((t) => {
  if (t.waiters.size > 0) found(t);
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
 * What waits on `owner` name as their detail, chosen at its first wait: a WaitTarget (a
 * WeakRef and a FinalizationRegistry cell, about 1 µs) for a named primitive, which pays
 * for those already, or for any with `config.trackGreenletTree`; else the primitive
 * itself, which costs nothing and is never reported leaked. @internal
 */
export function waitDetail<T extends Describable>(owner: T, name: string | undefined, waiters: { readonly size: number }): T | WaitTarget {
  return name !== undefined || config.trackGreenletTree ? new WaitTarget(owner, name, waiters) : owner;
}

/** The primitive a wait's detail names (the target's owner; the target itself once leaked). @internal */
export function targetOwner(detail: unknown): unknown {
  return detail instanceof WaitTarget ? (detail.owner() ?? detail) : detail;
}
