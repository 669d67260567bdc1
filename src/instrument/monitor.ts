/**
 * The blocking monitor (gevent's monitor thread and `max_blocking_time`): reports each
 * event-loop stall longer than `maxBlockingTime`, naming the greenlet that was running
 * and the call site, on `greenio:block` (`type: 'stall'`) and stderr. A stalled thread
 * cannot watch itself, so a worker thread (started only by `startMonitor()`) watches a
 * heartbeat the main thread writes to shared memory; when it is late, the worker has
 * the inspector run a probe on the main thread, inside the stalled code, that notes the
 * current greenlet and stack; the report is made when the loop turns again.
 * A late heartbeat is only a stall of the program's making if the main thread held the
 * loop: the time it waited for a CPU (descheduled on a busy machine) does not count, nor
 * the time the whole process did not run (stopped and continued), which the watcher knows
 * by its own polls coming late.
 * Limits: blocking native code (a `*Sync` call) is sampled when it returns to
 * JavaScript; a stall that ends in the ~2 ms between detection and the probe is
 * reported with no greenlet; the duration is a lower bound (to within one heartbeat).
 */
import * as hub from '../hub/index.js';
import { blockChannel } from '../hub/index.js';
import { config } from '../internal/config.js';
import { greenletLabel, ms as fmtMs } from '../hub/index.js';
import { originalClearInterval, originalClearTimeout, originalSetInterval, originalSetTimeout } from '../internal/originals.js';
import { heldMs, threadClock, type ThreadClock, type ThreadTimes } from '../internal/thread-clock.js';
import { checkBoolean, checkMs, checkOptions } from '../internal/validate.js';
import type { StallBlockMessage } from './channels.js';
import type { Greenlet } from '../greenlet.js';

/** Options of `startMonitor()`. */
export interface MonitorOptions {
  /** Report stalls longer than this (ms). Default `config.maxBlockingTime` (read at each beat). */
  maxBlockingTime?: number;
  /** Also print each report on stderr. Default true. */
  print?: boolean;
}

// Shared memory: [beat counter, the silence (ms) after which the worker samples, the
// last beat whose stall the probe found in the program's code, the watcher's time away
// (ms, summed, wrapping), the watcher's last poll (ms of \`process.hrtime\`, CLOCK_MONOTONIC,
// the same clock in every thread, wrapping)].
const BEAT = 0;
const THRESHOLD = 1;
const SAMPLED = 2;
const AWAY = 3;
const POLLED = 4;

/** Milliseconds of the monotonic clock every thread shares, as a wrapping 32-bit integer (the worker has its copy). */
function monoMs(): number {
  const [s, ns] = process.hrtime();
  return (s * 1000 + Math.floor(ns / 1e6)) | 0;
}

// The worker's code, plain JavaScript run with `eval: true`: no file to resolve, the
// same under tsx, vitest and the built package. On a late beat it connects a session
// to the main thread just long enough for one `Runtime.evaluate` of the probe: V8 runs
// it at the stalled code's next interrupt check, on top of its stack. No Debugger
// domain: enabled, it makes every `await` several times slower.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { Session } = require('node:inspector');
const shared = new Int32Array(workerData.shared);
const probe = 'globalThis[Symbol.for(' + JSON.stringify(workerData.key) + ')]?.(';
let last = Atomics.load(shared, ${BEAT}), lastAt = performance.now(), sampled = -1, sampledAt = 0, busy = false;
// The watcher's own polls: a poll later than twice its interval means this thread did not
// run either, so neither did the process (stopped, or descheduled whole): that time away is
// summed for the main thread, which does not blame it on the program.
const monoMs = () => { const [s, ns] = process.hrtime(); return (s * 1000 + Math.floor(ns / 1e6)) | 0; };
let polled = monoMs(), away = 0;
Atomics.store(shared, ${POLLED}, polled);
function sample(beat) {
  busy = true;
  const session = new Session();
  try {
    session.connectToMainThread();
    session.post('Runtime.evaluate', { expression: probe + beat + ')', silent: true, returnByValue: true }, () => {
      session.disconnect();
      busy = false;
    });
  } catch (e) {
    busy = false;
  }
}
const timer = setInterval(() => {
  const t = monoMs(), gap = (t - polled) | 0;
  if (gap > 2 * workerData.pollMs) Atomics.store(shared, ${AWAY}, (away = (away + gap - workerData.pollMs) | 0));
  polled = t;
  Atomics.store(shared, ${POLLED}, t);
  const beat = Atomics.load(shared, ${BEAT});
  const now = performance.now();
  if (beat !== last) { last = beat; lastAt = now; return; }
  const max = Atomics.load(shared, ${THRESHOLD});
  if (busy || now - lastAt <= max) return;
  // Once per stall; again (every max / 2 ms) while the probe has only found code not the
  // program's: it may have run before the stall's own code did (a descheduled process).
  if (sampled !== beat || (Atomics.load(shared, ${SAMPLED}) !== beat && now - sampledAt > max / 2)) {
    sampled = beat;
    sampledAt = now;
    sample(beat);
  }
}, workerData.pollMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  parentPort.close();
});
parentPort.postMessage('ready');
`;

interface Sample {
  beat: number;
  greenlet: hub.Core;
  site: string;
  stack: string;
}

interface Running {
  worker: import('node:worker_threads').Worker;
  shared: Int32Array;
  heartbeat: ReturnType<typeof setInterval>;
  intervalMs: number;
  lastBeat: number;
  clock: ThreadClock;
  /** The thread's times at the last beat. */
  lastTimes: ThreadTimes;
  sample: Sample | null;
  /** The beat whose stall was reported already. */
  reportedBeat: number;
  /** The watcher's poll interval (ms). */
  pollMs: number;
  /** The watcher's time away as seen at the last beat (see \`awayMs\`). */
  lastAway: number;
  maxBlockingTime: number | undefined;
  print: boolean;
  key: string;
  onExit: () => void;
}

let running: Running | null = null;
let starting: Promise<void> | null = null;

// The probe's own frames: this file and the inspector's evaluation of the expression.
const OWN_FRAME = /[/\\]src[/\\]instrument[/\\]monitor\.[jt]s|^\s*at <anonymous>:\d+:\d+$|^\s*at eval \(eval at /;

// `at fn (file:line:col)` or `at file:line:col`, in a file that is not Node's own.
const PROGRAM_FRAME = /at (?:.* \()?(?!node:)[^()\s]+:\d+:\d+\)?$/;

function threshold(r: Running): number {
  return r.maxBlockingTime ?? config.maxBlockingTime;
}

/**
 * The probe: runs on the main thread in the middle of the stalled code (at an interrupt
 * check), so it only notes who runs and where: it calls nothing patched and schedules
 * nothing, since the code it interrupts may be halfway through any operation.
 */
function takeSample(r: Running, beat: number): void {
  if (Atomics.load(r.shared, BEAT) !== beat) return; // the stall is over: this is some other code
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 24;
  Error.captureStackTrace(holder, takeSample);
  Error.stackTraceLimit = limit;
  const frames = (holder.stack ?? '').split('\n').slice(1).filter((l) => !OWN_FRAME.test(l));
  // The site is the innermost frame in a file of the program (not Node's, not a builtin's).
  const siteLine = frames.find((l) => PROGRAM_FRAME.test(l));
  // No frame of the program's own: the probe ran from the idle loop, the stall is over.
  if (siteLine === undefined) return;
  const site = siteLine.trim().replace(/^at /, '');
  const stack = frames.filter((l) => !l.includes('(node:internal')).slice(0, 12).join('\n');
  r.sample = { beat, greenlet: hub.currentCore(), site, stack };
  Atomics.store(r.shared, SAMPLED, beat);
}

/** At exit: a stall the program ended with has had no heartbeat after it. */
function flush(r: Running): void {
  const s = r.sample;
  if (running !== r || s === null || Atomics.load(r.shared, BEAT) !== s.beat) return;
  r.sample = null;
  const late = performance.now() - r.lastBeat - r.intervalMs;
  const times = r.clock.read();
  const held = heldMs(late, r.lastTimes, times, true, awayMs(r));
  if (held <= threshold(r)) return;
  r.reportedBeat = s.beat;
  report(r, late, held, s);
}

/**
 * The time (ms) since the last beat that the watcher thread did not run either: the whole
 * process was stopped (SIGSTOP, a debugger, a frozen container) or descheduled, which is not
 * the program holding its loop. The watcher sums its own late polls; a poll now overdue (the
 * process has just been continued, and the watcher has not run yet) counts as well.
 */
function awayMs(r: Running): number {
  const since = (monoMs() - Atomics.load(r.shared, POLLED)) | 0;
  const now = (Atomics.load(r.shared, AWAY) + (since > 2 * r.pollMs ? since - r.pollMs : 0)) | 0;
  const ms = (now - r.lastAway) | 0;
  r.lastAway = now;
  return Math.max(0, ms);
}

function beat(r: Running): void {
  const now = performance.now();
  const late = now - r.lastBeat - r.intervalMs;
  r.lastBeat = now;
  const times = r.clock.read();
  const from = r.lastTimes;
  r.lastTimes = times;
  const beatNo = Atomics.load(r.shared, BEAT);
  Atomics.store(r.shared, BEAT, (beatNo + 1) | 0);
  const max = threshold(r);
  Atomics.store(r.shared, THRESHOLD, Math.ceil(max));
  const s = r.sample;
  r.sample = null;
  const away = awayMs(r);
  if (late <= max || r.reportedBeat === beatNo) return;
  // Late, but the program held the loop no longer than `max` (the rest the thread waited
  // for a CPU, or slept outside the program's code): the machine stalled, not the program.
  const seen = s !== null && s.beat === beatNo ? s : null;
  const held = heldMs(late, from, times, seen !== null, away);
  if (held <= max) return;
  report(r, late, held, seen);
}

function report(r: Running, durationMs: number, held: number, s: Sample | null): void {
  const msg: StallBlockMessage = {
    type: 'stall',
    greenlet: s === null ? null : (s.greenlet as Greenlet),
    durationMs,
    site: s === null ? '' : s.site,
    stack: s === null ? '' : s.stack,
  };
  if (blockChannel.hasSubscribers) blockChannel.publish(msg);
  if (!r.print) return;
  const who = s === null ? 'the monitor could not see which greenlet (the stall ended first)' : `${greenletLabel(s.greenlet)} was running at ${s.site || '<unknown>'}`;
  const stack = s === null || s.stack === '' ? '' : `\n${s.stack.split('\n').map((l) => `    ${l.trim()}`).join('\n')}`;
  // A busy machine stretches a stall: say how much of it the program held the loop.
  const of = durationMs - held >= Math.max(10, durationMs / 10) ? `, ${fmtMs(durationMs - held)} of it off the CPU` : '';
  process.stderr.write(`greenio: the event loop was blocked for ${fmtMs(durationMs)} (max ${fmtMs(threshold(r))}${of}): ${who}${stack}\n`);
}

/**
 * Start the blocking monitor. Resolves once the watcher thread runs (20–50 ms).
 * No-op if it runs. It keeps nothing alive: the process exits as it would without it.
 * Cost while nothing stalls: one timer callback every `maxBlockingTime / 4` ms (at most
 * 50 ms) on the main thread; per stall, ~1–2 ms for the probe.
 * @example
 * import { startMonitor, stopMonitor, subscribe } from 'greenio';
 * subscribe('greenio:block', (m) => console.log(m.type, m.durationMs, m.site));
 * await startMonitor({ maxBlockingTime: 100 });
 * // ... a greenlet that spins 200 ms is reported, with its file:line
 * await stopMonitor();
 */
export async function startMonitor(options?: MonitorOptions): Promise<void> {
  const o = checkOptions('options', options);
  if (o.maxBlockingTime !== undefined) checkMs('maxBlockingTime', o.maxBlockingTime);
  const print = checkBoolean('print', o.print, true);
  if (running !== null) return;
  if (starting !== null) return starting;
  starting = start(o.maxBlockingTime as number | undefined, print).finally(() => {
    starting = null;
  });
  return starting;
}

async function start(maxBlockingTime: number | undefined, print: boolean): Promise<void> {
  // Loaded here, never at import: loading worker_threads changes process.chdir (see research).
  const { Worker } = await import('node:worker_threads');
  const shared = new Int32Array(new SharedArrayBuffer(20));
  Atomics.store(shared, SAMPLED, -1);
  const max = maxBlockingTime ?? config.maxBlockingTime;
  // A beat every quarter of the threshold: a stall is measured to within that much.
  const intervalMs = Math.min(50, Math.max(1, max / 4));
  const pollMs = Math.max(1, Math.min(10, intervalMs / 2));
  // Sampled once the heartbeat is `max` silent, a little before the stall counts (silence
  // includes up to one beat interval before it): the probe must run while it lasts.
  Atomics.store(shared, THRESHOLD, Math.ceil(max));
  const key = `greenio.monitor.${process.pid}.${Math.random().toString(36).slice(2)}`;
  const worker = new Worker(WORKER, {
    eval: true,
    // No preloads in it (it inherits --import greenio/patch otherwise) and no GREENIO_* setting.
    execArgv: [],
    env: {},
    workerData: { shared: shared.buffer, key, pollMs },
    // Its own small heap: it only polls and relays inspector messages.
    resourceLimits: { maxOldGenerationSizeMb: 16 },
  });
  const ready = await new Promise<string>((resolve) => {
    worker.once('message', (m: unknown) => resolve(String(m)));
    worker.once('error', (e: Error) => resolve(`error: ${e.message}`));
    worker.once('exit', () => resolve('error: the monitor thread exited'));
  });
  if (ready !== 'ready') {
    await worker.terminate();
    throw new Error(`greenio: cannot start the blocking monitor: ${ready.replace(/^error: /, '')}`);
  }
  worker.unref();
  // After start, a failing watcher must never take the program down with it.
  worker.on('error', () => {});
  const clock = threadClock();
  const r: Running = {
    worker, shared, heartbeat: undefined as never, intervalMs, lastBeat: performance.now(), clock, lastTimes: clock.read(),
    sample: null, reportedBeat: -1, pollMs, lastAway: 0, maxBlockingTime, print, key,
    onExit: () => hub.outside(flush, r),
  };
  (globalThis as Record<symbol, unknown>)[Symbol.for(key)] = (beatNo: number) => takeSample(r, beatNo);
  process.on('exit', r.onExit);
  // Outside any greenlet: the heartbeat belongs to no one, and reports run in main.
  r.heartbeat = hub.outside(() => originalSetInterval(beat, intervalMs, r));
  r.heartbeat.unref();
  running = r;
}

/**
 * Stop the blocking monitor: its heartbeat is cleared and its thread ends. No-op if
 * it does not run.
 * @example
 * import { stopMonitor } from 'greenio';
 * await stopMonitor();
 */
export async function stopMonitor(): Promise<void> {
  if (starting !== null) await starting.catch(() => {});
  const r = running;
  if (r === null) return;
  running = null;
  originalClearInterval(r.heartbeat);
  r.clock.close();
  process.removeListener('exit', r.onExit);
  delete (globalThis as Record<symbol, unknown>)[Symbol.for(r.key)];
  const exited = new Promise<void>((resolve) => r.worker.once('exit', () => resolve()));
  r.worker.postMessage('stop');
  // A worker that does not end by itself (it should) is ended.
  const t = originalSetTimeout(() => void r.worker.terminate(), 1000);
  await exited;
  originalClearTimeout(t);
}

/** True while the blocking monitor runs. */
export function isMonitorRunning(): boolean {
  return running !== null;
}

