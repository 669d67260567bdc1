/**
 * The hub's clock for op starts and ends (ops.ts): `performance.now()`, shared by the ops
 * of a loop turn that begins many of them. Limit: a shared reading may be stale by one
 * blocking poll (see `hubNow`); handles use `exactNow`.
 */
import { performance } from 'node:perf_hooks';
import { originalSetImmediate } from '../internal/originals.js';

// perf_hooks' object, not the global: `globalThis.performance` is a getter, paid per read
// (also in fairness.ts and internal/clock.ts).
const clock = performance;

// The hub's clock for op starts and ends (issue 18: two performance.now() calls per op
// were up to a third of a hand-off's cost). It reads the real clock, except in a loop turn
// that has begun many ops: from the 64th read on, that turn's ops share one reading, which
// an immediate expires when the turn ends. So a turn of a few ops (IO, timers) is timed
// exactly, and a long run of hand-offs is timed to its turn; readings never go backwards.
// A shared reading could not be traded for cheaper bookkeeping: a read costs ~60 ns of CPU
// here, the same as one promise reaction to expire it (bench/PROFILE.md).
let turnNow = -1;
let reads = 0;
function expireTurn(): void {
  turnNow = -1;
}
export function hubNow(): number {
  if (turnNow >= 0) return turnNow;
  const now = clock.now();
  if ((++reads & 63) === 0) {
    turnNow = now;
    // Unref'd: no handle of the program's (it neither keeps it alive nor shows in leak
    // checks). Limit: the loop may then block in poll before it runs, and ops ending right
    // after the block still get the reading from before it (a stale duration, rare).
    originalSetImmediate(expireTurn).unref();
  }
  return now;
}
// A handle (kind.resource) is timed exactly even in a shared turn: a Timeout aborts it only
// if it began after the Timeout's start (performance.now()), which a shared reading from
// earlier in the turn would deny. The exact reading becomes the shared one (never backwards).
export function exactNow(): number {
  const now = clock.now();
  if (turnNow >= 0) turnNow = now;
  return now;
}
