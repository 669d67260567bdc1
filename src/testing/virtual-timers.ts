/**
 * The virtual clock's timers: a `TimerHost` (src/internal/clock.ts) that keeps the timers
 * of one bubble (a root greenlet and every greenlet spawned inside it, transitively) in
 * a list ordered by due time, and fires them only when the driver (virtual-time.ts)
 * advances. Callers outside the bubble get Node's timers. Limits: only timers that go
 * through greenio's seam or virtual-globals.ts are virtual (not unpatched globals).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as hub from '../hub/index.js';
import type { TimerHandle, TimerHost } from '../internal/clock.js';
import type { Greenlet } from '../greenlet.js';

// Node's own rule: a delay that is not a number in [1, 2^31 - 1] ms becomes 1 ms.
const TIMEOUT_MAX = 2 ** 31 - 1;
function delayOf(ms: unknown): number {
  const n = Number(ms);
  return n >= 1 && n <= TIMEOUT_MAX ? n : 1;
}

type Runner = <R>(fn: (...args: unknown[]) => R, ...args: unknown[]) => R;

/** A timer on the virtual clock; shaped like Node's `Timeout` so user code may `unref()` it. */
export class VirtualTimer {
  due = 0;
  active = true;
  #ref = true;
  constructor(
    readonly clock: VirtualTimers,
    readonly seq: number,
    readonly fn: (...args: never[]) => unknown,
    readonly args: readonly unknown[],
    readonly ms: number,
    readonly repeat: boolean,
    /** Runs the callback in the async context it was set in (as Node's timers do). */
    readonly run: Runner,
    /** The greenlet that set it. */
    readonly owner: hub.Core,
  ) {}

  ref(): this {
    this.#ref = true;
    return this;
  }
  unref(): this {
    this.#ref = false;
    return this;
  }
  hasRef(): boolean {
    return this.#ref;
  }
  /** Restart it from now, as Node's `refresh()` does. */
  refresh(): this {
    if (this.active) this.clock.reschedule(this);
    return this;
  }
  close(): this {
    this.clock.remove(this);
    return this;
  }
}

/** The timer list and bubble membership of one `withVirtualTime` call. */
export class VirtualTimers implements TimerHost {
  /** Virtual ms elapsed since the start. */
  elapsed = 0;
  /** `performance.now()` at the start: virtual time is `t0 + elapsed`, frozen between jumps. */
  readonly t0 = performance.now();
  /** Pending timers, by due time then creation order. */
  readonly timers: VirtualTimer[] = [];
  /** The first error a timer callback threw (it fails the call, as it would crash the process). */
  error: { e: unknown } | null = null;
  root: Greenlet | null = null;
  #seq = 0;
  readonly #members = new WeakSet<hub.Core>();
  readonly #outsiders = new WeakSet<hub.Core>();

  /** True if `g` is the root or was spawned, at any depth, inside it. */
  inBubble(g: hub.Core): boolean {
    if (this.#members.has(g)) return true;
    if (this.#outsiders.has(g) || this.root === null) return false;
    const seen: hub.Core[] = [];
    for (let p: Greenlet | null = g as Greenlet; p !== null && !p.isMain; p = p.parent) {
      if (p === this.root || this.#members.has(p)) {
        for (const s of seen) this.#members.add(s);
        this.#members.add(g);
        return true;
      }
      seen.push(p);
    }
    this.#outsiders.add(g);
    return false;
  }

  set(fn: (...args: never[]) => unknown, ms: unknown, args: readonly unknown[], repeat: boolean): TimerHandle | null {
    const owner = hub.currentCore();
    if (!this.inBubble(owner)) return null;
    const t = new VirtualTimer(this, this.#seq++, fn, args, delayOf(ms), repeat, AsyncLocalStorage.snapshot() as Runner, owner);
    t.due = this.elapsed + t.ms;
    this.insert(t);
    return t as unknown as TimerHandle;
  }

  clear(handle: unknown): boolean {
    if (!(handle instanceof VirtualTimer)) return false;
    handle.clock.remove(handle);
    return true;
  }

  now(): number | null {
    return this.inBubble(hub.currentCore()) ? this.t0 + this.elapsed : null;
  }

  insert(t: VirtualTimer): void {
    const list = this.timers;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = list[mid]!;
      if (m.due < t.due || (m.due === t.due && m.seq < t.seq)) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, t);
  }

  remove(t: VirtualTimer): void {
    t.active = false;
    const i = this.timers.indexOf(t);
    if (i >= 0) this.timers.splice(i, 1);
  }

  reschedule(t: VirtualTimer): void {
    this.remove(t);
    t.active = true;
    t.due = this.elapsed + t.ms;
    this.insert(t);
  }

  /** True if `g` set a timer still pending. */
  hasTimerOf(g: hub.Core): boolean {
    for (const t of this.timers) if (t.owner === g) return true;
    return false;
  }

  /** Move time to the first pending timer's due time; false if none is pending. */
  jump(): boolean {
    const first = this.timers[0];
    if (first === undefined) return false;
    if (first.due > this.elapsed) this.elapsed = first.due;
    return true;
  }

  /** Fire the first timer due now, if any; true if one fired. */
  fireOne(): boolean {
    const t = this.timers[0];
    if (t === undefined || t.due > this.elapsed) return false;
    this.timers.shift();
    if (t.repeat) {
      t.due = this.elapsed + t.ms;
      this.insert(t);
    } else {
      t.active = false;
    }
    try {
      t.run(t.fn as (...args: unknown[]) => unknown, ...t.args);
    } catch (e) {
      this.error ??= { e };
    }
    return true;
  }

  /** Drop every timer left (the call is over: nothing may fire on a clock that stopped). */
  dropAll(): void {
    for (const t of this.timers) t.active = false;
    this.timers.length = 0;
  }
}
