/**
 * A thread's own clock for the blocking monitor: its time on a CPU and, on Linux, its
 * time runnable but waiting for one (from the scheduler's statistics), so that a stall
 * of a descheduled process is not blamed on the program. Limits: the wait is Linux-only
 * (elsewhere CPU time only); time a hypervisor steals from the VM looks like running.
 */
import * as fs from 'node:fs';
import { lookup } from './originals.js';

/**
 * The watched thread's time on a CPU and, where the OS says, waiting for one; and its
 * event loop's time idle in its poll for events (ms).
 */
export interface ThreadTimes {
  cpu: number;
  wait: number | null;
  idle: number;
}

// libuv's count of the loop's time in its poll (Node turns the metric on at start): an idle
// loop asleep there, or woken and not yet back on a CPU, is not the program holding it.
const idleMs = (): number => performance.nodeTiming.idleTime;

export interface ThreadClock {
  read(): ThreadTimes;
  close(): void;
}

/**
 * The calling thread's clock. On Linux, its scheduler statistics: `/proc/thread-self/schedstat`
 * is "ns on a CPU, ns runnable but waiting for one, timeslices", read afresh at offset 0
 * of one open descriptor (one `pread`, a few µs). Elsewhere only CPU time is known:
 * `process.threadCpuUsage()` (Node 23.9, backported to 22) or, on Node 20, the process's (all threads).
 */
export function threadClock(): ThreadClock {
  // The originals: the sync patch must neither see nor report the monitor's own reads.
  const openSync = (lookup('fs', 'openSync') ?? fs.openSync) as typeof fs.openSync;
  const readSync = (lookup('fs', 'readSync') ?? fs.readSync) as typeof fs.readSync;
  const closeSync = (lookup('fs', 'closeSync') ?? fs.closeSync) as typeof fs.closeSync;
  const buf = Buffer.alloc(96);
  const parse = (fd: number): ThreadTimes | null => {
    const m = /^(\d+) (\d+) /.exec(buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0)));
    return m === null ? null : { cpu: Number(m[1]) / 1e6, wait: Number(m[2]) / 1e6, idle: idleMs() };
  };
  if (process.platform === 'linux') {
    let fd = -1;
    try {
      fd = openSync('/proc/thread-self/schedstat', 'r');
      let last = parse(fd);
      if (last !== null) {
        const open = fd;
        // An unreadable line (never seen) repeats the last one: no time passes, no false stall.
        return { read: () => (last = parse(open) ?? { ...last!, idle: idleMs() }), close: () => closeSync(open) };
      }
    } catch {
      // No procfs or no schedstat (a kernel without CONFIG_SCHED_INFO): CPU time only.
    }
    if (fd >= 0) closeSync(fd);
  }
  const p = process as NodeJS.Process & { threadCpuUsage?: () => NodeJS.CpuUsage };
  const usage = typeof p.threadCpuUsage === 'function' ? () => p.threadCpuUsage!() : () => process.cpuUsage();
  return {
    read: () => {
      const u = usage();
      return { cpu: (u.user + u.system) / 1000, wait: null, idle: idleMs() };
    },
    close: () => {},
  };
}

/**
 * How long of a `lateMs` stall the program held the loop. Its CPU time always counts.
 * Time asleep counts only if `inProgram` (the probe found the stall in the program's own
 * code, where a blocking call such as `execSync` or a `*Sync` read returns) and the thread
 * did not spend most of the stall waiting for a CPU: asleep elsewhere (module loading, a
 * GC waiting for its helper threads, a page fault) or on a machine that busy, it waits for
 * the machine, not the program. Nor does the loop's own time in its poll count: a
 * descheduled idle loop computes its poll timeout from a stale clock and sleeps on in the
 * poll after its timers are due (the window's idle time is subtracted whole, part of it
 * before the beat was due: that errs towards not blaming), nor `awayMs`, the time the monitor's
 * own thread did not run either: the process was stopped (SIGSTOP, a debugger) or descheduled
 * whole, and a stopped thread is neither on a CPU nor waiting for one, so the scheduler's
 * counts miss it. Where the wait is unknown, only CPU time counts.
 */
export function heldMs(lateMs: number, from: ThreadTimes, to: ThreadTimes, inProgram: boolean, awayMs = 0): number {
  const cpu = Math.min(lateMs, to.cpu - from.cpu);
  if (!inProgram || to.wait === null || from.wait === null) return cpu;
  const wait = to.wait - from.wait;
  if (wait * 2 >= lateMs) return cpu;
  const asleep = lateMs - cpu - wait - Math.max(0, to.idle - from.idle) - awayMs;
  return cpu + Math.max(0, asleep);
}
