// How much of a late heartbeat the blocking monitor blames on the program (heldMs), and
// the clock it reads: real readings of this thread, then the rule on chosen readings.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { heldMs, threadClock, type ThreadTimes } from '../../src/internal/thread-clock.js';

const at = (cpu: number, wait: number | null, idle: number): ThreadTimes => ({ cpu, wait, idle });

describe('heldMs', () => {
  it('blames a blocking call in the program (asleep outside the poll, not waiting for a CPU) in full', () => {
    expect(heldMs(1500, at(10, 5, 100), at(30, 25, 100), true)).toBe(1480);
  });

  it('does not blame the loop asleep in its own poll after its timers were due (a descheduled idle loop)', () => {
    // 900 ms late: 300 ms waiting for a CPU, 590 ms in the poll, 10 ms of CPU.
    expect(heldMs(900, at(0, 0, 0), at(10, 300, 590), true)).toBe(10);
    // Part of it in the poll, part of it asleep elsewhere in the program: only that part counts.
    expect(heldMs(900, at(0, 0, 0), at(10, 300, 290), true)).toBe(310);
  });

  it('does not blame the time the whole process was stopped (the watcher thread away too)', () => {
    // Stopped 400 ms outside the poll: neither on a CPU nor waiting for one, so only the
    // watcher's own late polls tell it from a blocking call.
    expect(heldMs(430, at(0, 0, 0), at(20, 5, 0), true)).toBe(430 - 5);
    expect(heldMs(430, at(0, 0, 0), at(20, 5, 0), true, 400)).toBe(25);
    // Never below the CPU time the program used.
    expect(heldMs(430, at(0, 0, 0), at(20, 5, 0), true, 430)).toBe(20);
  });

  it('counts CPU time only when the thread mostly waited for a CPU, the probe was not in the program, or the wait is unknown', () => {
    expect(heldMs(1000, at(0, 0, 0), at(40, 600, 0), true)).toBe(40);
    expect(heldMs(1000, at(0, 0, 0), at(40, 10, 0), false)).toBe(40);
    expect(heldMs(1000, at(0, null, 0), at(40, null, 0), true)).toBe(40);
    expect(heldMs(100, at(0, 0, 0), at(400, 0, 0), true)).toBe(100); // never more than the stall
  });
});

describe('threadClock', () => {
  it('reads this thread: CPU time grows with work, the poll idle time with an idle loop, and not in a blocking call', async () => {
    const clock = threadClock();
    try {
      const a = clock.read();
      // CPU work until the clock says 20 ms of it ran (a busy machine stretches the wall time).
      let b = a;
      const end = performance.now() + 10_000;
      while (b.cpu - a.cpu < 20 && performance.now() < end) b = clock.read();
      expect(b.cpu - a.cpu).toBeGreaterThanOrEqual(20);
      await new Promise((r) => setTimeout(r, 200)); // the loop idles in its poll
      const c = clock.read();
      expect(c.idle - b.idle).toBeGreaterThan(100);
      execFileSync('sleep', ['0.3']); // asleep, but not in the loop's poll
      const d = clock.read();
      expect(d.idle - c.idle).toBeLessThan(100);
      if (process.platform === 'linux') expect(d.wait).not.toBeNull();
    } finally {
      clock.close();
    }
  });
});
