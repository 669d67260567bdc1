/**
 * Retiring a pool's idle workers after `idleTimeout`: one unref'd timer for all of them,
 * armed for the earliest to expire. An idle worker is unref'd at once, so that an idle
 * pool never keeps the process alive. It does not decide what "retire" means (the pool
 * stops the worker) nor what counts as idle (no task handed to it).
 */
import { originalClearTimeout, originalSetTimeout } from '../internal/originals.js';
import type { Slot } from './worker-slot.js';

export class IdleSweep {
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly ms: number,
    private readonly slots: Iterable<Slot>,
    private readonly retire: (s: Slot) => void,
  ) {}

  /** Slot `s` has nothing to run from now on. */
  idle(s: Slot, closing: boolean): void {
    if (s.refd) {
      s.refd = false;
      s.w.unref();
    }
    s.idleSince = performance.now();
    if (!closing && this.#timer === null && this.ms !== Infinity) this.#arm(this.ms);
  }

  stop(): void {
    if (this.#timer !== null) originalClearTimeout(this.#timer);
    this.#timer = null;
  }

  #arm(ms: number): void {
    this.#timer = originalSetTimeout(() => this.#sweep(), ms);
    this.#timer.unref();
  }

  #sweep(): void {
    this.#timer = null;
    const now = performance.now();
    let next = Infinity;
    for (const s of this.slots) {
      if (s.dying || s.inflight > 0) continue;
      const left = s.idleSince + this.ms - now;
      if (left <= 1) this.retire(s);
      else next = Math.min(next, left);
    }
    if (next !== Infinity) this.#arm(next);
  }
}
