/**
 * greenio's process-wide settings, read once from `GREENIO_*` environment variables
 * and writable at run time. Values are checked on assignment, so a bad setting fails
 * where it is made, not later inside a patch.
 */
import { expected } from './validate.js';

export type SyncIOMode = 'allow' | 'warn' | 'throw';

function envNumber(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new RangeError(expected(name, 'a number of milliseconds >= 0', raw));
  return n;
}
function envBool(name: string, dflt: boolean): boolean {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new TypeError(expected(name, 'a boolean (1/0, true/false)', raw));
}
/** What a wait that closes a cycle of the wait-for graph does: report it, fail it, or neither. */
export type DeadlockMode = 'warn' | 'throw' | 'off';
function envDeadlock(): DeadlockMode {
  const raw = process.env.GREENIO_DEADLOCK;
  if (raw === undefined || raw === '') return 'warn';
  if (raw === 'warn' || raw === 'throw' || raw === 'off') return raw;
  throw new TypeError(expected('GREENIO_DEADLOCK', "one of 'warn', 'throw', 'off'", raw));
}
function envSyncIO(): SyncIOMode {
  const raw = process.env.GREENIO_SYNC_IO;
  if (raw === undefined || raw === '') return 'warn';
  if (raw === 'allow' || raw === 'warn' || raw === 'throw') return raw;
  throw new TypeError(expected('GREENIO_SYNC_IO', "one of 'allow', 'warn', 'throw'", raw));
}

/** The type of `config`: greenio's process-wide settings; each setter checks its value. */
export class Config {
  #maxBlockingTime = envNumber('GREENIO_MAX_BLOCKING_TIME', 100);
  #monitor = envBool('GREENIO_MONITOR', false);
  #keepQueryValues = envBool('GREENIO_KEEP_QUERY_VALUES', false);
  #trackGreenletTree = envBool('GREENIO_TRACK_GREENLET_TREE', false);
  #syncIO: SyncIOMode = envSyncIO();
  #switchInterval = envNumber('GREENIO_SWITCH_INTERVAL', 5);
  #syncIOThreshold = envNumber('GREENIO_SYNC_IO_THRESHOLD', 1);
  #deadlock: DeadlockMode = envDeadlock();
  #warnUnreachable = envBool('GREENIO_WARN_UNREACHABLE', true);

  /** Event-loop stall (ms) the blocking monitor reports (gevent's `max_blocking_time`). */
  get maxBlockingTime(): number { return this.#maxBlockingTime; }
  set maxBlockingTime(v: number) { this.#maxBlockingTime = positive('maxBlockingTime', v); }
  /** Whether the blocking monitor runs (`GREENIO_MONITOR`). */
  get monitor(): boolean { return this.#monitor; }
  set monitor(v: boolean) { this.#monitor = bool('monitor', v); }
  /** Record the spawn stack of every greenlet, for run-info (`GREENIO_TRACK_GREENLET_TREE`). */
  get trackGreenletTree(): boolean { return this.#trackGreenletTree; }
  set trackGreenletTree(v: boolean) { this.#trackGreenletTree = bool('trackGreenletTree', v); }
  /**
   * Keep the query values of URLs in names of ops (run-info, stats, channels, traces):
   * off by default, every value then reads `REDACTED` (`GREENIO_KEEP_QUERY_VALUES`).
   * A URL's userinfo (`user:password@`) is redacted whatever this says.
   */
  get keepQueryValues(): boolean { return this.#keepQueryValues; }
  set keepQueryValues(v: boolean) { this.#keepQueryValues = bool('keepQueryValues', v); }
  /** What a `*Sync` call inside a greenlet does: `'allow'`, `'warn'` (report) or `'throw'`. */
  get syncIO(): SyncIOMode { return this.#syncIO; }
  set syncIO(v: SyncIOMode) {
    if (v !== 'allow' && v !== 'warn' && v !== 'throw') throw new TypeError(expected('syncIO', "one of 'allow', 'warn', 'throw'", v));
    this.#syncIO = v;
  }
  /** A sync call shorter than this (ms) is counted but not reported under `'warn'`. */
  get syncIOThreshold(): number { return this.#syncIOThreshold; }
  set syncIOThreshold(v: number) { this.#syncIOThreshold = positive('syncIOThreshold', v); }
  /**
   * After this long (ms) of greenlets waking each other without the event loop turning,
   * wake-ups are deferred to the next loop turn so IO is served (gevent's switch interval).
   */
  get switchInterval(): number { return this.#switchInterval; }
  set switchInterval(v: number) { this.#switchInterval = positive('switchInterval', v); }
  /**
   * A lock wait or join that closes a cycle of the wait-for graph (a deadlock): `'warn'`
   * reports it on stderr, `'throw'` also fails that wait with a `DeadlockError`, `'off'`
   * checks nothing (`GREENIO_DEADLOCK`).
   */
  get deadlock(): DeadlockMode { return this.#deadlock; }
  set deadlock(v: DeadlockMode) {
    if (v !== 'warn' && v !== 'throw' && v !== 'off') throw new TypeError(expected('deadlock', "one of 'warn', 'throw', 'off'", v));
    this.#deadlock = v;
  }
  /**
   * Print one line on stderr, once per call site, when a kill or a timeout finds its
   * flow awaiting a promise greenio cannot see and abandons it (`GREENIO_WARN_UNREACHABLE`).
   */
  get warnUnreachable(): boolean { return this.#warnUnreachable; }
  set warnUnreachable(v: boolean) { this.#warnUnreachable = bool('warnUnreachable', v); }
}

function positive(name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0) || v === Infinity) throw new RangeError(expected(name, 'a finite number of milliseconds >= 0', v));
  return v;
}
function bool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(expected(name, 'a boolean', v));
  return v;
}

/** The process-wide settings (see each property). */
export const config = new Config();
