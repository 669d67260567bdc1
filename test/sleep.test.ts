import { describe, expect, it } from 'vitest';
import { idle, joinAll, sleep, spawn } from '../src/index.js';
import { runFixture } from './run-fixture.js';

describe('sleep', () => {
  it('sleeps at least ms', async () => {
    const t0 = performance.now();
    await sleep(20);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(18);
  });

  it('sleep(0) yields to every other ready greenlet', async () => {
    const log: string[] = [];
    const a = spawn(async () => {
      log.push('a1');
      await sleep(0);
      log.push('a2');
    });
    const b = spawn(async () => {
      log.push('b1');
      await sleep(0);
      log.push('b2');
    });
    await joinAll([a, b]);
    expect(log).toEqual(['a1', 'b1', 'a2', 'b2']);
  });

  it('sleep(0) yields to IO: a greenlet looping on sleep(0) does not starve an IO callback', async () => {
    let ioRan = false;
    const spinner = spawn(async () => {
      let n = 0;
      while (!ioRan && n < 100_000) {
        n++;
        await sleep(0);
      }
      return n;
    });
    // A check-phase callback and a timer are both IO-loop work.
    setTimeout(() => {
      ioRan = true;
    }, 5);
    const n = await spinner.get();
    expect(ioRan).toBe(true);
    expect(n).toBeLessThan(100_000);
  });

  it('greenlets waking each other in a tight loop still let timers run (switch interval)', async () => {
    let timerRan = false;
    setTimeout(() => {
      timerRan = true;
    }, 1);
    let rounds = 0;
    // Two greenlets ping-ponging through joins never touch IO; the hub defers wake-ups
    // to the next loop turn after config.switchInterval ms.
    const ping = async () => {
      while (!timerRan && rounds < 2_000_000) {
        rounds++;
        const g = spawn(() => rounds);
        await g.join();
      }
    };
    await spawn(ping).join();
    expect(timerRan).toBe(true);
  });

  it('rejects bad input with a clear error', () => {
    expect(() => sleep(-1)).toThrow(new RangeError('Expected `ms` to be a finite number of milliseconds >= 0, got `-1` (number)'));
    expect(() => sleep('x' as never)).toThrow(new TypeError("Expected `ms` to be a number of milliseconds >= 0, got `'x'` (string)"));
    expect(() => sleep(NaN)).toThrow(RangeError);
    expect(() => sleep(Infinity)).toThrow(RangeError);
  });
});

describe('idle', () => {
  it('resolves once nothing else is ready', async () => {
    const log: string[] = [];
    spawn(async () => {
      for (let i = 0; i < 3; i++) await sleep(0);
      log.push('busy done');
    });
    await idle();
    expect(log).toEqual(['busy done']);
  });
});

describe('exit report (gevent’s LoopExit)', () => {
  it('says which greenlets still wait, and on what, when the process is about to exit', () => {
    const r = runFixture('stuck-at-exit.ts', [], {}, [], false);
    expect(r.stderr).toMatch(/greenio: the process is exiting while 2 greenlet\(s\) still wait/);
    expect(r.stderr).toMatch(/main waits on join stuck-worker/);
    expect(r.stderr).toMatch(/stuck-worker \(worker\) waits on join/);
  });
});
