/**
 * The protocol `wait()`, `iwait()`, `joinAll()` and groups use to watch anything that
 * becomes ready once (greenlets, events, async results, futures): `ready()` plus a
 * watcher list. A watcher is told synchronously; it must only schedule (resolve a wait),
 * never run user code inside the notifier. Also `LinkRunner`: how a ready object runs
 * its user links.
 */
import { reportCallbackError, runSoon } from './soon.js';

export const kAddWatcher = Symbol('greenio.addWatcher');
export const kRemoveWatcher = Symbol('greenio.removeWatcher');

export interface Watcher {
  onReady(source: Waitable): void;
}

/** Something that becomes ready once: a Greenlet, Event, AsyncResult or Future. */
export interface Waitable {
  ready(): boolean;
  /** @internal */
  [kAddWatcher](w: Watcher): void;
  /** @internal */
  [kRemoveWatcher](w: Watcher): void;
}

export function isWaitable(x: unknown): x is Waitable {
  return typeof x === 'object' && x !== null && typeof (x as Waitable)[kAddWatcher] === 'function';
}

/** Remove the first occurrence of `w` from `list` (order of the others kept). */
export function removeFrom<T>(list: T[] | null, w: T): void {
  if (list === null) return;
  const i = list.indexOf(w);
  if (i >= 0) list.splice(i, 1);
}

/**
 * A greenlet's or future's joiners: none, one, or an array of them, in arrival order
 * (most have at most one joiner; 100k of them should not mean 100k arrays).
 */
export type WatchSlot<W> = W | W[] | null;

export function slotAdd<W>(cur: WatchSlot<W>, w: W): WatchSlot<W> {
  if (cur === null) return w;
  if (Array.isArray(cur)) {
    cur.push(w);
    return cur;
  }
  return [cur, w];
}

export function slotRemove<W>(cur: WatchSlot<W>, w: W): WatchSlot<W> {
  if (cur === w) return null;
  if (Array.isArray(cur)) removeFrom(cur, w);
  return cur;
}

type LinkCallback<A> = (arg: A) => unknown;

/**
 * The links of a ready object, run as gevent's `_notify_links` runs them: soon, in one
 * pass that takes them one at a time from this live list, so a link removed by an
 * earlier one (`unlink()` while the links run) never runs, and one added meanwhile runs
 * in the same pass. A link that throws is reported on stderr and the others still run.
 */
export class LinkRunner<A> {
  readonly #arg: A;
  #list: Array<LinkCallback<A>> = [];
  #pending = false;

  constructor(arg: A) {
    this.#arg = arg;
  }

  /** Run `cb(arg)` in the current pass, or in one scheduled now. */
  add(cb: LinkCallback<A>): void {
    this.#list.push(cb);
    if (this.#pending) return;
    this.#pending = true;
    runSoon(LinkRunner.#pass, this as LinkRunner<unknown>);
  }

  /** Every not yet run link of `cb` will not run. */
  remove(cb: LinkCallback<A>): void {
    const l = this.#list;
    for (let i = l.length - 1; i >= 0; i--) if (l[i] === cb) l.splice(i, 1);
  }

  static #pass(r: LinkRunner<unknown>): void {
    const l = r.#list;
    for (let cb = l.shift(); cb !== undefined; cb = l.shift()) {
      try {
        cb(r.#arg);
      } catch (e) {
        reportCallbackError(cb as { name?: string }, e);
      }
    }
    r.#pending = false;
  }
}
