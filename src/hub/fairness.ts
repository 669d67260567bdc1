/**
 * Fairness (gevent's switch interval): greenlets that keep waking each other without
 * the event loop turning would starve IO; past `config.switchInterval` ms, wake-ups wait
 * for the next turn (ops.ts `Op.resolve` asks). Limit: checked every 64th wake-up only.
 */
import { performance } from 'node:perf_hooks';
import { config } from '../internal/config.js';
import { originalSetImmediate } from '../internal/originals.js';

let wakes = 0;
let turnStart = 0;
function resetTurn(): void {
  turnStart = 0;
}

/** True when a wake-up should be deferred to the next event-loop turn. */
export function wakeMustWait(): boolean {
  if ((++wakes & 63) !== 0) return false;
  const now = performance.now();
  if (turnStart === 0) {
    turnStart = now;
    // Unref'd, as turnclock.ts's: a handle of the hub's own, which must neither keep the
    // process alive nor show among the program's resources (a leak check that looks while
    // it is queued). Limit: the loop may block in poll before it runs; the first 64th
    // wake-up after the block is then deferred to this turn's check phase (a few µs).
    originalSetImmediate(resetTurn).unref();
    return false;
  }
  return now - turnStart > config.switchInterval;
}

/** Monotonic count of wake-ups so far. */
export function wakesSoFar(): number {
  return wakes;
}
