/**
 * `withVirtualTime(fn)`: run `fn` in a root greenlet on a virtual clock (Go's
 * `testing/synctest`). greenio's timers in the bubble (sleep, Timeout, withTimeout, a
 * wait's own timeout, spawnLater, patched setTimeout/setInterval; timers/promises and Date
 * through virtual-globals.ts) advance only when every
 * greenlet of the bubble is blocked: none runnable, no IO in flight, microtasks drained;
 * time then jumps to the next due timer. Everyone blocked with no timer pending is a
 * deadlock: the call fails with the run-info dump. Limits: a greenlet awaiting a promise
 * greenio cannot see holds time still (it may be waiting on IO); a bubble must not rely
 * on greenlets outside it to wake it (they are not watched: that looks like a deadlock).
 */
import * as hub from '../hub/index.js';
import { State, type Core } from '../hub/index.js';
import { Greenlet } from '../greenlet.js';
import { formatRunInfo } from '../instrument/run-info.js';
import { timerSeam } from '../internal/clock.js';
import { config } from '../internal/config.js';
import { originalSetImmediate, originalSetTimeout } from '../internal/originals.js';
import { checkFunction, checkOptions, expected } from '../internal/validate.js';
import { GreenioError, named } from '../errors.js';
import { VirtualTimers } from './virtual-timers.js';
import { installVirtualGlobals } from './virtual-globals.js';

/** What `fn` is given: the virtual clock's reading. */
export interface VirtualClock {
  /** Virtual milliseconds since `withVirtualTime` started (0 at the start; moves only in jumps). */
  now(): number;
}

/** Options of `withVirtualTime`. */
export interface VirtualTimeOptions {
  /** Fail once virtual time would pass this many ms (a ticker that never ends). Default one day. */
  maxTime?: number;
}

/**
 * A virtual-time run that cannot go on: `code` is `'GREENIO_VIRTUAL_DEADLOCK'` (every
 * greenlet blocked, no timer pending, no IO in flight), `'GREENIO_VIRTUAL_LIMIT'`
 * (past `maxTime`) or `'GREENIO_VIRTUAL_ACTIVE'` (one virtual clock at a time).
 * @example
 * import { VirtualTimeError } from 'greenio/testing';
 * const e = new VirtualTimeError('deadlock', 'GREENIO_VIRTUAL_DEADLOCK', '', 0);
 * console.log(e.code); // 'GREENIO_VIRTUAL_DEADLOCK'
 */
export class VirtualTimeError extends GreenioError {
  /** `formatRunInfo()` at the moment it stopped (empty for `GREENIO_VIRTUAL_ACTIVE`). */
  readonly runInfo: string;
  /** Virtual ms elapsed when it stopped. */
  readonly virtualTime: number;
  constructor(message: string, code: string, runInfo: string, virtualTime: number) {
    super(message, code);
    this.runInfo = runInfo;
    this.virtualTime = virtualTime;
  }
}
named(VirtualTimeError, 'VirtualTimeError');

const DAY = 24 * 3600_000;
// Kinds of waits that only another greenlet (or a timer) can end: a greenlet in one is
// blocked. Any other wait (fs, net, dns, http, a worker task, sleep(0)...) is IO in flight.
const BLOCKED_ON = new Set([
  'sleep', 'join', 'joinAll', 'wait', 'queue.get', 'queue.put', 'queue.peek', 'queue.join',
  'event.wait', 'asyncresult.get', 'asyncresult.wait', 'semaphore.acquire', 'group.join',
  'group.imap', 'group.map', 'pool.spawn', 'pool.add', 'pool.waitAvailable',
  // An idle listener waits for a client: a client in the bubble has its own IO in flight.
  'server.accept', 'server.serveForever',
]);
// Loop turns in a row with nothing woken before time may jump: greenio's own deferred
// work (a wake-up deferred for fairness, an abandonment check) runs in such turns.
const QUIET_TURNS = 3;
const RUN = 0;
const IO = 1;
const QUIET = 2;

const turn = (): Promise<void> => new Promise((r) => originalSetImmediate(r));
const tick = (): Promise<void> => new Promise((r) => originalSetTimeout(r, 1));

function stateOf(clock: VirtualTimers, live: readonly Core[]): number {
  for (const g of live) {
    if (g.state !== State.Running) return RUN;
    if (g.waitCount === 0) {
      // Awaiting what greenio cannot see: a timer of its own (`await new Promise((r) =>
      // setTimeout(r, ms))`) if it set one, else perhaps IO, so time holds still.
      if (clock.hasTimerOf(g) && opsBlocked(g) === QUIET) continue;
      return IO;
    }
    const s = opsBlocked(g);
    if (s !== QUIET) return s;
  }
  return QUIET;
}

/** QUIET if every op of `g` is a wait on another greenlet or a timer, a held handle or a timer. */
function opsBlocked(g: Core): number {
  for (const op of hub.opsOf(g)) {
    if (op.settled) return RUN; // a wake-up deferred to the next turn
    const k = op.kind;
    if (op.isWait) {
      if (!BLOCKED_ON.has(k.name) || (k.name === 'sleep' && op.detail === 0)) return IO;
    } else if (k.name === 'immediate') {
      return RUN;
    } else if (!k.resource && !k.killOnly) {
      return IO; // callback IO (fs.readFile(p, cb)) in flight
    }
  }
  return QUIET;
}

type Stop = { code: 'GREENIO_VIRTUAL_DEADLOCK' | 'GREENIO_VIRTUAL_LIMIT'; why: string } | null;

/** Run the bubble until every greenlet in it is dead, or it cannot go on. */
async function drive(clock: VirtualTimers, maxTime: number): Promise<Stop> {
  let quiet = 0;
  let seen = -1;
  for (;;) {
    if (clock.error !== null) return null;
    const live = hub.liveGreenlets().filter((g) => clock.inBubble(g));
    if (live.length === 0) return null;
    const s = stateOf(clock, live);
    if (s !== QUIET) {
      quiet = 0;
      await (s === IO ? tick() : turn());
      continue;
    }
    const wc = hub.wakeCount();
    if (wc !== seen) {
      seen = wc;
      quiet = 0;
    }
    if (++quiet < QUIET_TURNS) {
      await turn();
      continue;
    }
    quiet = 0;
    const first = clock.timers[0];
    if (first === undefined) {
      return { code: 'GREENIO_VIRTUAL_DEADLOCK', why: 'deadlock: every greenlet of the virtual-time bubble is blocked, no timer is pending and no IO is in flight' };
    }
    if (first.due > maxTime) {
      return { code: 'GREENIO_VIRTUAL_LIMIT', why: `the next timer is due at +${first.due} ms of virtual time, past maxTime (${maxTime} ms)` };
    }
    clock.jump();
    while (clock.fireOne()) await turn();
  }
}

/** Kill what is left of the bubble and let it unwind (its `finally` blocks may still sleep). */
async function cleanUp(clock: VirtualTimers, maxTime: number): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const live = hub.liveGreenlets().filter((g) => clock.inBubble(g)) as Greenlet[];
    if (live.length === 0) return;
    for (const g of live) void g.kill(undefined, { block: false });
    clock.error = null;
    if ((await drive(clock, maxTime)) === null && clock.error === null) return;
  }
}

/**
 * Run `fn` in a new greenlet on a virtual clock, and resolve to its value (or reject
 * with its error) once it and every greenlet spawned inside it have finished. Time moves
 * only when all of them are blocked, by jumping to the next due timer: a retry loop with
 * minutes of back-off runs in milliseconds, in the same order every time. A deadlock
 * rejects with a `VirtualTimeError` whose message holds the run-info dump.
 * @example
 * import { sleep } from 'greenio';
 * import { withVirtualTime } from 'greenio/testing';
 * const waited = await withVirtualTime(async (clock) => {
 *   await sleep(10 * 60_000); // ten minutes, at once
 *   return clock.now();
 * });
 * console.log(waited); // 600000
 */
export function withVirtualTime<T>(fn: (clock: VirtualClock) => T | Promise<T>, options?: VirtualTimeOptions): Promise<T> {
  checkFunction('fn', fn);
  const o = checkOptions('options', options);
  const maxTime = o.maxTime ?? DAY;
  if (typeof maxTime !== 'number') throw new TypeError(expected('options.maxTime', 'a number of milliseconds > 0', maxTime));
  if (!(maxTime > 0)) throw new RangeError(expected('options.maxTime', 'a number of milliseconds > 0', maxTime));
  // Arguments are checked synchronously: a bad one throws here, not in the promise.
  return run(fn, maxTime);
}

async function run<T>(fn: (clock: VirtualClock) => T | Promise<T>, maxTime: number): Promise<T> {
  if (timerSeam.host !== null) {
    throw new VirtualTimeError('withVirtualTime() is already running: one virtual clock at a time', 'GREENIO_VIRTUAL_ACTIVE', '', 0);
  }
  const clock = new VirtualTimers();
  const view: VirtualClock = { now: () => clock.elapsed };
  // First: if a global cannot be replaced (frozen), it throws having put back what it did.
  const restore = installVirtualGlobals(clock);
  timerSeam.host = clock;
  // Spawn sites in the dump of a deadlock: worth their cost inside a test.
  const tracked = config.trackGreenletTree;
  config.trackGreenletTree = true;
  try {
    // Created outside any greenlet's flow: the bubble's root, whoever calls.
    const root = hub.outside(() => new Greenlet(fn, view)) as Greenlet<T>;
    root.name = 'virtual-time root';
    clock.root = root;
    root.link(noop); // observed: its error is ours to rethrow, not to report
    root.start();
    const stop = await hub.outside(drive, clock, maxTime);
    if (stop !== null) {
      const runInfo = formatRunInfo();
      const at = clock.elapsed;
      await cleanUp(clock, maxTime);
      throw new VirtualTimeError(`${stop.why} (at +${at} ms of virtual time)\n${runInfo}`, stop.code, runInfo, at);
    }
    if (clock.error !== null) {
      const e = clock.error.e;
      await cleanUp(clock, maxTime);
      throw e;
    }
    return await root.get();
  } finally {
    restore();
    timerSeam.host = null;
    config.trackGreenletTree = tracked;
    clock.dropAll();
  }
}

function noop(): void {}
