/**
 * `RLock` (gevent.lock.RLock): a re-entrant mutex owned by the greenlet that acquired it,
 * FIFO like the other locks (lock-base.ts). Limit: a dead owner's RLock is reported, not
 * released (its count says how deep it was); one process only.
 */
import * as hub from './hub/index.js';
import { getCurrent, type Greenlet } from './greenlet.js';
import { checkFunction } from './internal/validate.js';
import { NO_BLOCK, parseWait } from './hub/index.js';
import { GreenioError } from './errors.js';
import { switchClock } from './internal/clock.js';
import { nameFromOptions, nameOf, type Holder } from './instrument/resources.js';
import { waitDetail, type WaitTarget } from './instrument/leaks.js';
import { ACQUIRE, FALSE, Holders, K_ACQUIRE, TRUE, holding, type AcquireOptions, type LockOptions } from './lock-base.js';

/**
 * A re-entrant mutex owned by the greenlet that acquired it (gevent's `RLock`): its
 * owner may acquire it again (each `acquire()` needs its `release()`); another greenlet
 * waits, FIFO. `release()` by a greenlet that does not own it throws a `GreenioError`
 * with code `'GREENIO_NOT_OWNER'`. Outside any spawned greenlet the owner is the main
 * greenlet, which every async flow of the main program shares.
 * @example
 * import { RLock } from 'greenio';
 * const lock = new RLock();
 * await lock.with(() => lock.with(async () => {
 *   console.log(lock.count); // 2: its owner re-entered it
 * }));
 */
export class RLock {
  #owner: Greenlet | null = null;
  #count = 0;
  #since = 0;
  readonly #waiters = new Holders(true); // its owner mirrored in `holder`, for the wait-for graph
  #target: WaitTarget | null = null; // as Semaphore's
  /** @internal */ readonly exclusive = true;
  /** @internal A dead owner's RLock is reported, not released (its count says how deep it was). */
  readonly _releaseOnOwnerDeath = false;

  constructor(options?: LockOptions) {
    nameFromOptions(this, options);
  }

  /** The name given to the constructor, if any. */
  get name(): string | undefined {
    return nameOf(this);
  }

  /** @internal */
  held(): boolean {
    return this.#owner !== null;
  }

  /** @internal */
  soleHolder(): hub.Core | null {
    return this.#owner;
  }

  /** @internal */
  heldBy(g: hub.Core): boolean {
    return this.#owner === g;
  }

  /** @internal Its owner, as a list of holders. */
  holders(): Holder[] {
    return this.#owner === null ? [] : [{ greenlet: this.#owner, since: this.#since }];
  }

  /** The greenlet that holds it, or null. */
  get owner(): Greenlet | null {
    return this.#owner;
  }

  /** How many times its owner holds it (0 when free). */
  get count(): number {
    return this.#count;
  }

  /** True while some greenlet holds it. */
  locked(): boolean {
    return this.#owner !== null;
  }

  /**
   * Take it: at once if free or already ours (the count goes up), else wait in FIFO
   * order. Resolves `false` on `timeout`, or at once with `block: false` when another
   * greenlet holds it. An outer `Timeout` or a kill passes through.
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    const ms = parseWait(options);
    const me = getCurrent();
    if (this.#owner === me) {
      this.#count++;
      return TRUE;
    }
    if (this.#owner === null) {
      this.#owner = this.#waiters.holder = me;
      this.#count = 1;
      // The last switch point, bounded by the taker's start (see Lock's #take).
      this.#since = switchClock.now > me.startedAt ? switchClock.now : me.startedAt;
      return TRUE;
    }
    if (ms === NO_BLOCK) return FALSE;
    return hub.wait<boolean>(K_ACQUIRE, (this.#target ??= waitDetail(this, nameOf(this), this.#waiters)), ACQUIRE, this.#waiters, ms);
  }

  /**
   * Undo one `acquire()` of the current greenlet; the last one frees it, handing it to
   * the first waiter (never switches). Throws `GREENIO_NOT_OWNER` if the current
   * greenlet does not hold it.
   */
  release(): void {
    const me = getCurrent();
    if (this.#owner !== me) {
      const who = this.#owner === null ? 'nobody holds it' : `it is held by ${this.#owner.name}`;
      throw new GreenioError(`cannot release an RLock ${me.name} does not hold: ${who}`, 'GREENIO_NOT_OWNER');
    }
    if (--this.#count > 0) return;
    const op = this.#waiters.shiftOp<boolean>();
    if (op === null) {
      this.#owner = this.#waiters.holder = null;
      return;
    }
    // Owned from now on by the waiter's greenlet, even before it runs.
    this.#owner = this.#waiters.holder = op.flow.greenlet as Greenlet;
    this.#count = 1;
    this.#since = switchClock.now;
    op.resolve(true);
  }

  /** Run `fn` holding it; release it however `fn` ends (returns or throws). */
  with<T>(fn: () => T | Promise<T>): Promise<T> {
    checkFunction('fn', fn);
    return holding(this, fn);
  }

  /** `<RLock owned by Greenlet-3 x2, 1 waiting>`, `<RLock free>`. */
  toString(): string {
    const o = this.#owner;
    const n = nameOf(this);
    return `<RLock${n === undefined ? '' : ` '${n}'`} ${o === null ? 'free' : `owned by ${o.name} x${this.#count}`}${this.#waiters.describe()}>`;
  }

  /** @internal For run-info: what a waiting greenlet waits on. */
  describe(): string {
    return this.toString();
  }
}
