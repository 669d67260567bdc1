/**
 * Resources: the primitives in use (Lock, RLock, Semaphore, Queue, Channel, Event,
 * AsyncResult, Pool), who holds them (greenlet, since when) and who waits on them, for
 * run-info, `greenio ps` and `greenio top`. Locks and semaphores keep their holders
 * themselves (two field writes per acquire) and are found, weakly, through the WaitTarget
 * of their first contended wait (leaks.ts); a Pool lists itself; named primitives are kept
 * as WeakRefs; the rest are found through the waits of live greenlets. Limits: an unnamed
 * Queue, Event, or Lock nobody ever waited on is not listed; a
 * Semaphore's holders are the greenlets that acquired it (a release by another greenlet
 * gives back one of the others' permits); a Group's or Pool's members are its holders (since
 * each started), a Pool's slot waiters its waiters; a Pool cannot be named.
 */
import * as hub from '../hub/index.js';
import { expected } from '../internal/validate.js';
import { WaitTarget, holdTargets, targetOwner } from './leaks.js';

/** One holder of a lock or semaphore. */
export interface Holder {
  greenlet: hub.Core;
  /** `performance.now()` when it took it. */
  since: number;
}

/** What a lock, semaphore or pool exposes to the instrumentation. */
export interface HoldView {
  /** True while someone holds it (without allocating). */
  held(): boolean;
  /** Holders now, oldest first. */
  holders(): Holder[];
  /** The one holder of an exclusive primitive (null if free or shared), without allocating. */
  soleHolder(): hub.Core | null;
  /** True if `g` holds it (without allocating). */
  heldBy(g: hub.Core): boolean;
  /** At most one holder at a time (Lock, RLock, a Semaphore of 1): a wait-for edge. */
  readonly exclusive: boolean;
  describe(): string;
  /** Waits on it that its own waits' details do not name (a Pool's slot waiters), FIFO. */
  waiting?(): hub.AnyOp[];
}

/**
 * A holdable that lists itself at its first acquire (a Pool): `_hn`/`_listed` link it into
 * the list of held primitives. Not stripped from the .d.ts: other declarations there name it.
 */
export interface Holdable extends HoldView {
  _hn: Holdable | null;
  _listed: boolean;
}

// Pools held, and some free ones: a pool is listed at its first acquire
// and stays listed through release and acquire again (an uncontended acquire/release pays
// one flag test, no list work); walks sweep out the free ones, and so does a listing
// that grew to twice its last swept length, so dropped primitives are not kept long.
let heldHead: Holdable | null = null;
let listed = 0;
let sweepAt = 64;

/** A primitive got a holder and is not listed: list it. @internal */
export function enlist(h: Holdable): void {
  h._listed = true;
  h._hn = heldHead;
  heldHead = h;
  if (++listed >= sweepAt) {
    sweep();
    sweepAt = Math.max(64, 2 * listed);
  }
}

// Unlink the primitives nobody holds now.
function sweep(): void {
  let prev: Holdable | null = null;
  for (let h = heldHead; h !== null; ) {
    const next: Holdable | null = h._hn;
    if (h.held()) {
      prev = h;
    } else {
      if (prev === null) heldHead = next;
      else prev._hn = next;
      h._hn = null;
      h._listed = false;
      listed--;
    }
    h = next;
  }
}

/**
 * True if `g` holds an exclusive primitive another can wait on it for (no allocation): a
 * lock someone waited on once (a WaitTarget of leaks.ts), or a named one.
 */
export function holdsAny(g: hub.Core): boolean {
  // Read from each lock's Holders (its waits' data, which its target keeps), not the lock.
  for (const t of holdTargets) if ((t.waiters as { soleHolder?: () => hub.Core | null } | null)?.soleHolder?.() === g) return true;
  // A named lock is found by its name even if nobody waited on it yet.
  for (const ref of namedRefs) {
    const h = ref.deref() as Partial<HoldView> | undefined;
    if (h !== undefined && typeof h.heldBy === 'function' && h.exclusive === true && h.heldBy(g)) return true;
  }
  return false;
}

/** A Group's or Pool's members as its holders: since each started (now if not yet). @internal */
export function membersAsHolders(members: Iterable<hub.Core>): Holder[] {
  const now = performance.now();
  const out: Holder[] = [];
  for (const g of members) out.push({ greenlet: g, since: g.startedAt > 0 ? g.startedAt : now });
  return out;
}

/** How many pools are listed now, held or not yet swept out (for tests). @internal */
export function listedCount(): number {
  return listed;
}

/** Every pool, and every lock or semaphore someone waited on once, held now. */
export function heldNow(): HoldView[] {
  sweep();
  const out: HoldView[] = [];
  for (let h = heldHead; h !== null; h = h._hn) out.push(h);
  for (const t of holdTargets) {
    const h = t.owner() as HoldView | null;
    if (h !== null && h.held()) out.push(h);
  }
  return out;
}

// ---------------------------------------------------------------------------------
// Names: opt-in, so an unnamed primitive costs nothing here.

const names = new WeakMap<object, string>();
const namedRefs = new Set<WeakRef<object>>();
const gone = new FinalizationRegistry<WeakRef<object>>((ref) => namedRefs.delete(ref));

/** Read the `name` option of a primitive's constructor, and remember it. @internal */
export function nameFromOptions(obj: object, options: unknown): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') throw new TypeError(expected('options', 'an object', options));
  const name = (options as { name?: unknown }).name;
  if (name === undefined) return;
  if (typeof name !== 'string' || name === '') throw new TypeError(expected('options.name', 'a non-empty string', name));
  names.set(obj, name);
  const ref = new WeakRef(obj);
  namedRefs.add(ref);
  gone.register(obj, ref);
}

/** The name a primitive was given, if any. */
export function nameOf(obj: object): string | undefined {
  return names.get(obj);
}

// ---------------------------------------------------------------------------------
// Snapshots.

/** A primitive as `greenio ps --json` shows it (schema `greenio.ps/3`). */
export interface ResourceInfo {
  /** Stable for the life of the process (the first snapshot that saw it numbers it). */
  id: number;
  /** The class: `Lock`, `RLock`, `Semaphore`, `Queue`, `Channel`, `Event`, ... */
  type: string;
  name: string | null;
  /** Its own description: `<Lock counter=0, 2 waiting>`. */
  state: string;
  holders: Array<{ greenlet: number; forMs: number; dead: boolean }>;
  waiters: Array<{ greenlet: number; kind: string; forMs: number }>;
  /** Collected while greenlets wait on it: nothing can wake them (schema 2) */
  leaked: boolean;
}

const ids = new WeakMap<object, number>();
let idSeq = 0;

/** A resource's snapshot id (numbered on first sight). */
export function resourceId(obj: object): number {
  let id = ids.get(obj);
  if (id === undefined) ids.set(obj, (id = ++idSeq));
  return id;
}

function isResource(d: unknown): d is { describe(): string } {
  return d !== null && typeof d === 'object' && !(d instanceof hub.Core) && typeof (d as { describe?: unknown }).describe === 'function';
}

/** Is this object one of the resources a snapshot lists (a primitive with `describe()`)? */
export function resourceOf(op: hub.AnyOp): object | null {
  // An Event's or AsyncResult's wait names it through a WaitTarget: the primitive itself
  // while it lives, the target once it was collected (leaked).
  const d = targetOwner(op.detail);
  return isResource(d) ? d : null;
}

/**
 * Every resource in use: held, named, or waited on by one of `greenlets` (the live
 * greenlets and main), with holders and waiters.
 */
export function snapshotResources(greenlets: readonly hub.Core[], now = performance.now()): ResourceInfo[] {
  const found = new Map<object, ResourceInfo>();
  const entry = (obj: object): ResourceInfo => {
    let r = found.get(obj);
    if (r === undefined) {
      const d = (obj as { describe(): string }).describe();
      const gone = obj instanceof WaitTarget;
      const type = gone ? obj.type : obj.constructor.name;
      const name = (gone ? obj.name : names.get(obj)) ?? null;
      r = { id: resourceId(obj), type, name, state: d.startsWith('<') ? d : `<${d}>`, holders: [], waiters: [], leaked: gone };
      found.set(obj, r);
    }
    return r;
  };
  const own = new Set<object>(); // resources that list their own waiters
  const holding = (h: HoldView): void => {
    const r = entry(h);
    for (const x of h.holders()) r.holders.push({ greenlet: x.greenlet.id, forMs: round(now - x.since), dead: x.greenlet.state === hub.State.Dead });
    if (h.waiting !== undefined) {
      own.add(h);
      for (const op of h.waiting()) r.waiters.push({ greenlet: op.flow.greenlet.id, kind: op.kind.name, forMs: round(now - op.since) });
    }
  };
  for (const h of heldNow()) holding(h);
  for (const ref of namedRefs) {
    const obj = ref.deref();
    if (obj === undefined || found.has(obj)) continue;
    // A named lock held but never waited on: its holders from the lock itself.
    if (typeof (obj as Partial<HoldView>).held === 'function' && (obj as HoldView).held()) holding(obj as HoldView);
    else entry(obj);
  }
  for (const g of greenlets) {
    for (const op of hub.opsOf(g)) {
      const res = op.isWait ? resourceOf(op) : null;
      if (res !== null && !own.has(res)) entry(res).waiters.push({ greenlet: g.id, kind: op.kind.name, forMs: round(now - op.since) });
    }
  }
  return [...found.values()].sort((a, b) => a.id - b.id);
}

/** Milliseconds to 0.1 ms, for JSON. */
export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
