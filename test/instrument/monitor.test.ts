import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { sharedRun } from '../shared-run.js';
import { isMonitorRunning, startMonitor, stopMonitor } from '../../src/instrument/monitor.js';
import { runFixture, type FixtureRun } from '../run-fixture.js';

const fixture = fileURLToPath(new URL('../fixtures/instrument-monitor.ts', import.meta.url));
const lines = readFileSync(fixture, 'utf8').split('\n');
const spinLine = lines.findIndex((l) => l.includes('// SPIN-LINE')) + 1;
const sleepLine = lines.findIndex((l) => l.includes('// SLEEP-LINE')) + 1;

interface Report {
  type: string;
  greenlet: string | null;
  fn: string | null;
  durationMs: number;
  site: string;
  stack: string;
}

/** The resources in `after` that were not in `before` (as multisets). */
function added(before: string[], after: string[]): string[] {
  const left = [...before];
  return after.filter((r) => {
    const i = left.indexOf(r);
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
}

describe('the blocking monitor', () => {
  let spin: FixtureRun;
  let quiet: FixtureRun;
  sharedRun(() => {
    spin = runFixture('instrument-monitor.ts', ['spin']);
    quiet = runFixture('instrument-monitor.ts', ['quiet']);
  }, 150_000); // two processes, each slow to start on a busy machine

  it('reports a busy loop of 250 ms of CPU in a named greenlet once, naming the greenlet and the file:line of the loop', () => {
    expect(spin.status, spin.stderr).toBe(0);
    const reports = spin.json.reports as Report[];
    expect(reports).toHaveLength(1);
    const r = reports[0]!;
    expect(r).toMatchObject({ type: 'stall', greenlet: 'spinner', fn: 'spinFor' });
    expect(r.site).toMatch(new RegExp(`^spinCpu \\(.*instrument-monitor\\.ts:${spinLine}:\\d+\\)$`));
    expect(r.stack).toMatch(/at spinFor \(.*instrument-monitor\.ts:\d+:\d+\)/);
    // At least the threshold; at most what a very busy machine could stretch 250 ms of CPU to.
    expect(r.durationMs).toBeGreaterThan(100);
    expect(r.durationMs).toBeLessThan(60_000);
  });

  it('prints the report on stderr too', () => {
    expect(spin.stderr).toMatch(
      // On a busy machine the report adds how much of the stall the process was off the CPU.
      new RegExp(`greenio: the event loop was blocked for [\\d.]+ m?s \\(max 100 ms(, [\\d.]+ m?s of it off the CPU)?\\): spinner \\(spinFor\\) was running at spinCpu \\(.*instrument-monitor\\.ts:${spinLine}:\\d+\\)`),
    );
  });

  it('reports nothing for a program that never blocks', () => {
    expect(quiet.status, quiet.stderr).toBe(0);
    expect(quiet.json.reports).toEqual([]);
    expect(quiet.stderr).not.toMatch(/blocked/);
  });

  it('reports a greenlet asleep in a blocking system call (little CPU, not descheduled) at the call', () => {
    const run = runFixture('instrument-monitor.ts', ['sleep-call']);
    expect(run.status, run.stderr).toBe(0);
    const mine = (run.json.reports as Report[]).filter((r) => r.greenlet === 'sleeper');
    expect(mine, JSON.stringify(run.json.reports)).toHaveLength(1);
    expect(mine[0]!.site).toMatch(new RegExp(`^callSleep \\(.*instrument-monitor\\.ts:${sleepLine}:\\d+\\)$`));
    expect(mine[0]!.durationMs).toBeGreaterThan(1000);
  }, 120_000);

  it('does not blame the program for a stall of a process that was not running (stopped and continued, as a descheduled or paused one)', () => {
    const run = runFixture('instrument-monitor.ts', ['paused']);
    expect(run.status, run.stderr).toBe(0);
    // The process was stopped: its idle loop turned more than 150 ms late (three pauses of
    // 400 ms; at least once, should two merge on a busy machine), and no stall was blamed.
    expect(run.json.lateTurns, JSON.stringify(run.json)).toBeGreaterThanOrEqual(1);
    expect(run.json.reports).toEqual([]);
    expect(run.stderr).not.toMatch(/blocked/);
    expect((run.json.resources as string[]).filter((r) => !/^(PipeWrap|TTYWrap)$/.test(r))).toEqual([]);
  }, 120_000);

  it('starts quickly and stops cleanly: no thread, timer or listener left behind', () => {
    for (const run of [spin, quiet]) {
      expect(run.json.running).toBe(true);
      expect(run.json.stopped).toBe(true);
      expect(run.json.startMs).toBeLessThan(5000);
      // stdout/stderr are pipes under the test runner; anything else would be a leak.
      expect((run.json.resources as string[]).filter((r) => !/^(PipeWrap|TTYWrap)$/.test(r))).toEqual([]);
    }
  });

  it('never keeps a process alive: one that ends without stopping it exits by itself', () => {
    const t0 = performance.now();
    const run = runFixture('instrument-monitor.ts', ['left-running']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.json.stopped).toBe(false);
    expect(run.json.reports).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(30_000);
  }, 120_000);

  it('start and stop in process: running only in between, resources back to what they were', async () => {
    const before = process.getActiveResourcesInfo().sort();
    expect(isMonitorRunning()).toBe(false);
    await Promise.all([startMonitor({ maxBlockingTime: 1000, print: false }), startMonitor()]); // the second is a no-op
    expect(isMonitorRunning()).toBe(true);
    await stopMonitor();
    await stopMonitor(); // no-op
    expect(isMonitorRunning()).toBe(false);
    // Nothing of the monitor's left. The test runner's own timers come and go (a reply it
    // awaits from its parent, slow on a busy machine): wait for those, not for ours.
    await vi.waitFor(() => expect(added(before, process.getActiveResourcesInfo())).toEqual([]), { timeout: 10_000, interval: 50 });
  });

  it('rejects bad options with TypeError/RangeError', async () => {
    await expect(startMonitor({ maxBlockingTime: -1 })).rejects.toThrow(RangeError);
    await expect(startMonitor({ maxBlockingTime: '5' as never })).rejects.toThrow(/Expected `maxBlockingTime` to be a number of milliseconds >= 0, got `'5'` \(string\)/);
    await expect(startMonitor({ print: 1 as never })).rejects.toThrow(TypeError);
    expect(isMonitorRunning()).toBe(false);
  });
});
