/**
 * Locks (gevent.lock): `BoundedSemaphore` (a `Semaphore` that refuses to be released past
 * its initial value) and `Lock` (a `BoundedSemaphore(1)` released for a holder that died
 * holding it); `Semaphore` is in semaphore.ts, the greenlet-owned, re-entrant `RLock` in
 * rlock.ts. Limits: as `Semaphore`'s (a permit handed over is kept even if its waiter is
 * killed before it runs); one process only.
 */
import { GreenioError } from './errors.js';
import type { LockOptions } from './lock-base.js';
import { Semaphore } from './semaphore.js';

export type { AcquireOptions, LockOptions } from './lock-base.js';


/**
 * A `Semaphore` that refuses to be released past its initial value: that throws a
 * `GreenioError` with code `'GREENIO_OVER_RELEASE'` (gevent raises `ValueError`), since
 * it is nearly always a bug (a release without its acquire).
 * @example
 * import { BoundedSemaphore } from 'greenio';
 * const sem = new BoundedSemaphore(1);
 * await sem.acquire();
 * sem.release();
 * try {
 *   sem.release();
 * } catch (e) {
 *   console.log((e as { code?: string }).code); // 'GREENIO_OVER_RELEASE'
 * }
 */
export class BoundedSemaphore extends Semaphore {
  readonly #initial: number;

  constructor(value: number = 1, options?: LockOptions) {
    super(value, options);
    this.#initial = value;
  }

  /** Like `Semaphore.release()`, but throws when every permit is already free. */
  override release(): void {
    if (this.counter >= this.#initial) {
      throw new GreenioError(`${this.constructor.name} released too many times (initial value ${this.#initial})`, 'GREENIO_OVER_RELEASE');
    }
    super.release();
  }
}

/**
 * A mutex: a `BoundedSemaphore(1)`. Any greenlet may release it (see `RLock`), but if
 * the greenlet holding it dies still holding it, greenio reports it on stderr and
 * releases it (as trio does), so its waiters are not stuck forever.
 * @example
 * import { Lock } from 'greenio';
 * const lock = new Lock({ name: 'db' });
 * await lock.with(async () => {
 *   // one greenlet at a time here
 * });
 */
export class Lock extends BoundedSemaphore {
  constructor(options?: LockOptions) {
    super(1, options);
  }

  /** @internal A dead holder's Lock is released for it (see instrument/deadlock.ts). */
  override get _releaseOnOwnerDeath(): boolean {
    return true;
  }
}
