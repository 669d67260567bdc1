/**
 * `Semaphore` (gevent.lock): a counter of permits, and what `BoundedSemaphore` and `Lock`
 * (lock.ts) build on. FIFO: a release hands its permit straight to the first waiter, so
 * no later acquirer barges ahead; every wait goes through the hub, so a killed or
 * timed-out acquirer leaves it exactly as if it had never waited. Limits: a permit handed
 * over is kept even if its waiter is killed before it runs (the kill lands at its next
 * wait: release in `finally`, or use `with()`); one process only.
 */
import * as hub from './hub/index.js';
import { checkFunction, checkInt } from './internal/validate.js';
import { NO_BLOCK, parseWait } from './hub/index.js';
import { switchClock } from './internal/clock.js';
import { nameFromOptions, nameOf, type Holder } from './instrument/resources.js';
import { reclaimFromDead } from './instrument/deadlock.js';
import { waitDetail, type WaitTarget } from './instrument/leaks.js';
import { ACQUIRE, FALSE, Holders, TRUE, holding, type AcquireOptions, type LockOptions } from './lock-base.js';

/**
 * A counter of permits (gevent's `Semaphore`): `acquire()` takes one, waiting while
 * none is free; `release()` gives one back, straight to the first waiter if any.
 * Waiters are served in the order they came. Any greenlet may release (it tracks no
 * owner); releasing more than was acquired raises the counter (see `BoundedSemaphore`).
 * @example
 * import { Semaphore, spawn, joinAll, sleep } from 'greenio';
 * const sem = new Semaphore(2); // at most two at a time
 * const gs = [1, 2, 3, 4].map((n) => spawn(() => sem.with(async () => {
 *   await sleep(10);
 *   return n;
 * })));
 * await joinAll(gs);
 */
// Holdable (the instrument's view of a lock) is checked where a lock is handed to it, not in
// an `implements` clause: that would name a private type in the public .d.ts.
export class Semaphore {
  #counter: number;
  readonly #waiters: Holders;
  // Holders, for run-info and the wait-for graph: the oldest in `#waiters` (see Holders),
  // the others (a counting semaphore's) in a ring `#more`/`#moreSince` of n from `#head`,
  // oldest first, as taken: holders mostly give back in the order they took, so a release
  // finds its greenlet at the front (no scan; `#drop`). Two arrays keep the
  // times unboxed doubles; grown once.
  #more: Array<hub.Core | null> | null = null;
  #moreSince: number[] | null = null;
  #head = 0;
  // Its contended waits' detail, made at the first: holds it weakly (holders, dead owners, leaks).
  #target: WaitTarget | null = null;

  /** `value`: the permits free at first, an integer >= 0 (default 1). */
  constructor(value: number = 1, options?: LockOptions) {
    checkInt('value', value, 0);
    this.#counter = value;
    this.#waiters = new Holders(value === 1);
    nameFromOptions(this, options);
  }

  /** The name given to the constructor, if any. */
  get name(): string | undefined {
    return nameOf(this);
  }

  /** @internal At most one holder at a time: an edge of the wait-for graph. */
  get exclusive(): boolean {
    return this.#waiters.one && this.#waiters.n === 0;
  }

  /** @internal Holders now, oldest first. */
  holders(): Holder[] {
    if (this.#waiters.holder === null) return [];
    const out: Holder[] = [{ greenlet: this.#waiters.holder, since: this.#waiters.since }];
    for (let i = 0; i < this.#waiters.n; i++) {
      const j = (this.#head + i) & (this.#more!.length - 1);
      out.push({ greenlet: this.#more![j]!, since: this.#moreSince![j]! });
    }
    return out;
  }

  /** @internal */
  held(): boolean {
    return this.#waiters.holder !== null;
  }

  /** @internal */
  soleHolder(): hub.Core | null {
    return this.#waiters.n === 0 ? this.#waiters.holder : null;
  }

  /** @internal */
  heldBy(g: hub.Core): boolean {
    if (this.#waiters.holder === g) return true;
    for (let i = 0; i < this.#waiters.n; i++) if (this.#more![(this.#head + i) & (this.#more!.length - 1)] === g) return true;
    return false;
  }

  // The time of the last switch point (hub-kept): a clock call per acquire would cost more
  // than the rest of it. That point may be older than `g` itself (a greenlet taking a free
  // lock first thing after a spell with no op anywhere): `g`'s start bounds it. Nothing is
  // listed: the instrument finds a lock through its target.
  #take(g: hub.Core): void {
    const w = this.#waiters;
    const since = switchClock.now > g.startedAt ? switchClock.now : g.startedAt;
    if (w.holder === null) {
      w.holder = g;
      w.since = since;
      return;
    }
    let m = this.#more;
    if (m === null || w.n === m.length) m = this.#grow();
    const j = (this.#head + w.n++) & (m.length - 1);
    m[j] = g;
    this.#moreSince![j] = since;
  }

  // A ring twice as big (a power of two, from 8), its holders moved to the front in order.
  #grow(): Array<hub.Core | null> {
    const old = this.#more;
    const oldT = this.#moreSince;
    const size = old === null ? 8 : old.length * 2;
    const m = new Array<hub.Core | null>(size).fill(null);
    const t = new Array<number>(size).fill(0.5); // doubles from the start: no later transition
    for (let i = 0; i < this.#waiters.n; i++) {
      const j = (this.#head + i) & (old!.length - 1);
      m[i] = old![j]!;
      t[i] = oldT![j]!;
    }
    this.#head = 0;
    this.#more = m;
    this.#moreSince = t;
    return m;
  }

  // Give back `g`'s permit if it holds one, else the oldest (any greenlet may release).
  // `g` null: the current greenlet, looked up only when there are several holders (an
  // AsyncLocalStorage read, the larger part of a release: a Lock never pays it).
  #drop(g: hub.Core | null): void {
    const w = this.#waiters;
    if (w.holder === null) return;
    if (w.n === 0) {
      w.holder = null;
      return;
    }
    g ??= hub.currentCore();
    const m = this.#more!;
    const t = this.#moreSince!;
    const mask = m.length - 1;
    const h = this.#head;
    if (w.holder !== g) {
      // Not the oldest: look for it in the ring; found, close the gap (order kept).
      let i = 0;
      while (i < w.n && m[(h + i) & mask] !== g) i++;
      if (i < w.n) {
        for (; i < w.n - 1; i++) {
          m[(h + i) & mask] = m[(h + i + 1) & mask]!;
          t[(h + i) & mask] = t[(h + i + 1) & mask]!;
        }
        m[(h + i) & mask] = null; // no dead greenlet kept
        w.n--;
        return;
      }
      // It holds none: the oldest permit goes back.
    }
    // The oldest gives back: the next oldest becomes the first holder.
    w.holder = m[h]!;
    w.since = t[h]!;
    m[h] = null;
    this.#head = (h + 1) & mask;
    w.n--;
  }

  /** @internal Release the permit of `g` (a dead owner's; null: the current greenlet's). */
  _releaseFor(g: hub.Core | null): void {
    this.#release(g);
  }

  // Give `g`'s permit (null: the caller's) to the first waiter, else back to the counter.
  #release(g: hub.Core | null): void {
    const op = this.#waiters.shiftOp<boolean>();
    if (op === null) {
      this.#drop(g);
      this.#counter++;
      return;
    }
    const w = this.#waiters;
    // The only holder, or the oldest (holders mostly give back in the order they took):
    // the ring turns by one. Otherwise the releaser's own permit leaves the list.
    if (w.n === 0 || w.holder === (g ??= hub.currentCore())) this.#handOff(op.flow.greenlet);
    else {
      this.#drop(g);
      this.#take(op.flow.greenlet);
    }
    // Handed over (the counter does not move); its op then serves a later wait unless
    // something may still hold it (a Lock's wait-for edge, a timer, a deferred wake).
    hub.handOver(op, true);
  }

  // A permit handed from the oldest holder to `g` in one step: the ring turns by one (the
  // next oldest becomes the first holder, `g` goes last, in the slot after the others or,
  // the ring full, in the one just freed); no count moves, no growth.
  #handOff(g: hub.Core): void {
    const w = this.#waiters;
    const now = switchClock.now;
    if (w.n === 0) {
      w.holder = g;
      w.since = now;
      return;
    }
    const m = this.#more!;
    const t = this.#moreSince!;
    const h = this.#head;
    const j = (h + w.n) & (m.length - 1);
    w.holder = m[h]!;
    w.since = t[h]!;
    m[h] = null;
    m[j] = g;
    t[j] = now;
    this.#head = (h + 1) & (m.length - 1);
  }
  /** Permits free now (0 while anyone waits). */
  get counter(): number {
    return this.#counter;
  }

  /** True when `acquire()` would wait (no permit free). */
  locked(): boolean {
    return this.#counter <= 0;
  }

  /**
   * Take a permit. Resolves `true` once taken (at once if one is free and nobody
   * waits), `false` when `timeout` ms pass first, or at once with `block: false` if
   * none is free. An outer `Timeout` or a kill passes through, and the waiter leaves
   * the queue as if it had never waited.
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    const ms = parseWait(options);
    if (this.#counter > 0) {
      this.#counter--;
      this.#take(hub.currentCore());
      return TRUE;
    }
    // A Lock whose holder died holding it while nobody waited: released now, not waited on.
    const h = this.#waiters.holder;
    if (h !== null && h.state === hub.State.Dead && this.#waiters.n === 0 && this._releaseOnOwnerDeath === true && reclaimFromDead(this, h)) return this.acquire(options);
    if (ms === NO_BLOCK) return FALSE;
    // Only a one-permit semaphore's wait is an edge of the wait-for graph (its kind: lock-base.ts).
    const w = this.#waiters;
    return hub.wait<boolean>(w.kind, (this.#target ??= waitDetail(this, nameOf(this), w)), ACQUIRE, w, ms);
  }

  /** @internal A dead holder's Lock is released for it (a Semaphore's permit is not). */
  get _releaseOnOwnerDeath(): boolean | undefined { return undefined; } // prettier-ignore

  /**
   * Give a permit back: to the first waiter if any (it resumes later: never switches),
   * else to the counter.
   */
  release(): void {
    this.#release(null);
  }

  /** Run `fn` holding a permit; release it however `fn` ends (returns or throws). */
  with<T>(fn: () => T | Promise<T>): Promise<T> {
    checkFunction('fn', fn);
    return holding(this, fn);
  }

  /** `<Semaphore counter=0, 3 waiting>`. */
  toString(): string {
    const n = nameOf(this);
    return `<${this.constructor.name}${n === undefined ? '' : ` '${n}'`} counter=${this.#counter}${this.#waiters.describe()}>`;
  }

  /** @internal For run-info: what a waiting greenlet waits on. */
  describe(): string {
    return this.toString();
  }
}
