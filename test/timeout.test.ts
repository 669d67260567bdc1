import { describe, expect, it } from 'vitest';
import { GreenioError, Timeout, TimeoutError, getCurrent, sleep, spawn, withTimeout } from '../src/index.js';
import { runFixture } from './run-fixture.js';

describe('Timeout', () => {
  it('interrupts the greenlet that started it with a TimeoutError naming it', async () => {
    let seen: unknown;
    const g = spawn(async () => {
      const t = Timeout.startNew(10);
      try {
        await sleep(1000);
      } catch (e) {
        seen = e;
      } finally {
        t.cancel();
      }
      return t;
    });
    const t = await g.get();
    expect(seen).toBeInstanceOf(TimeoutError);
    expect((seen as TimeoutError).timeout).toBe(t);
    expect((seen as TimeoutError).code).toBe('GREENIO_TIMEOUT');
    expect(t.pending).toBe(false);
  });

  it('leaves no timer behind: cancelled, fired, scoped or quiet (own process)', () => {
    const { json } = runFixture('timeout-timers.ts');
    const b = json.before as number;
    expect(json).toEqual({ before: b, started: b + 1, cancelled: b, afterWithTimeout: b, afterFired: b, afterQuiet: b });
  });

  it('cancel() before it fires: nothing happens', async () => {
    const g = spawn(async () => {
      const t = new Timeout(20);
      t.start();
      expect(t.pending).toBe(true);
      await sleep(1);
      t.cancel();
      await sleep(40);
      return 'done';
    });
    expect(await g.get()).toBe('done');
  });

  it('throws a custom error when given one', async () => {
    const custom = new Error('custom');
    const g = spawn(async () => {
      Timeout.startNew(5, custom);
      await sleep(1000);
    });
    await expect(g.get()).rejects.toBe(custom);
  });

  it('with error false, the greenlet ends successfully with undefined and its finally runs', async () => {
    let cleaned = false;
    const g = spawn(async () => {
      Timeout.startNew(5, false);
      try {
        await sleep(1000);
        return 'slept';
      } finally {
        cleaned = true;
      }
    });
    await g.join();
    expect(g.successful()).toBe(true);
    expect(g.value).toBeUndefined();
    expect(cleaned).toBe(true);
  });

  it('a pending interrupt is thrown at the next greenio wait', async () => {
    let resume!: () => void;
    const hidden = new Promise<void>((r) => (resume = r));
    const g = spawn(async () => {
      const t = Timeout.startNew(5);
      await hidden; // greenio cannot see this one: the timeout waits for the next wait
      try {
        await sleep(0);
        return 'no timeout';
      } catch (e) {
        return (e as TimeoutError).timeout === t ? 'thrown at the next wait' : 'other';
      }
    });
    await sleep(20);
    resume();
    expect(await g.get()).toBe('thrown at the next wait');
  });

  it('a cancelled timeout drops its undelivered interrupt', async () => {
    let resume!: () => void;
    const hidden = new Promise<void>((r) => (resume = r));
    const g = spawn(async () => {
      const t = Timeout.startNew(5);
      await hidden;
      t.cancel();
      await sleep(1);
      return 'ok';
    });
    await sleep(20);
    resume();
    expect(await g.get()).toBe('ok');
  });

  it('start() twice throws; cancel() then start() restarts', () => {
    const t = new Timeout(1000);
    t.start();
    expect(() => t.start()).toThrow(GreenioError);
    t.cancel();
    t.start();
    t.cancel();
  });

  it('works in the main greenlet, scoped to the async flow that started it', async () => {
    const flowA = async () => {
      const t = Timeout.startNew(10);
      try {
        await sleep(1000);
        return 'slept';
      } catch (e) {
        return (e as TimeoutError).timeout === t ? 'timed out' : 'other';
      }
    };
    let otherFlowDone = false;
    const flowB = async () => {
      await sleep(40);
      otherFlowDone = true;
      return 'b';
    };
    // flowB began before the Timeout was started: its waits belong to another flow.
    const [b, a] = await Promise.all([flowB(), flowA()]);
    expect(a).toBe('timed out');
    expect(b).toBe('b');
    expect(otherFlowDone).toBe(true);
    expect(getCurrent().name).toBe('main');
  });

  it('Timeouts share one timer: each fires at its own deadline, in deadline order, started in any order; a cancelled one never fires', async () => {
    const fired: Array<{ i: number; at: number; ms: number }> = [];
    const t0 = performance.now();
    const durations = [80, 20, 50, 20, 5, 35]; // 50 is cancelled at 10 ms
    const gs = durations.map((ms, i) =>
      spawn(async () => {
        const t = Timeout.startNew(ms);
        if (ms === 50) {
          await sleep(10);
          t.cancel();
          await sleep(100);
          return 'cancelled, slept on';
        }
        try {
          await sleep(5000);
          return 'slept';
        } catch (e) {
          if (!(e instanceof TimeoutError) || e.timeout !== t) throw e;
          fired.push({ i, at: performance.now() - t0, ms });
          return 'timed out';
        }
      }),
    );
    const out = await Promise.all(gs.map((g) => g.get()));
    expect(out).toEqual(['timed out', 'timed out', 'cancelled, slept on', 'timed out', 'timed out', 'timed out']);
    // Deadline order; the two of 20 ms in the order they started.
    expect(fired.map((f) => f.i)).toEqual([4, 1, 3, 5, 0]);
    // Never early (Node's timers have whole-ms resolution); late only by the machine's load.
    for (const f of fired) expect(f.at).toBeGreaterThanOrEqual(f.ms - 1);
  });

  it('the shared timer keeps no greenlet alive: one that armed it, cancelled and died is collected (own process)', () => {
    const { json } = runFixture('timeout-shared-timer.ts', [], {}, ['--expose-gc']);
    expect(json).toEqual({ collected: true, outcome: 'timed out' });
  });

  it('bad input', () => {
    expect(() => new Timeout(NaN)).toThrow(new RangeError('Expected `ms` to be a number of milliseconds >= 0 (or undefined: never), got `NaN` (number)'));
    expect(() => new Timeout(-1)).toThrow(RangeError);
    expect(() => new Timeout('5' as never)).toThrow(TypeError);
    expect(() => new Timeout(5, 'x' as never)).toThrow(TypeError);
    expect(new Timeout(undefined).ms).toBe(Infinity);
  });
});

describe('withTimeout', () => {
  it('throws the TimeoutError, and runs the function’s finally', async () => {
    let cleaned = false;
    const e = await withTimeout(10, async () => {
      try {
        await sleep(1000);
      } finally {
        cleaned = true;
      }
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TimeoutError);
    expect((e as TimeoutError).timeout?.ms).toBe(10);
    expect(cleaned).toBe(true);
  });

  it('resolves to timeoutValue when present, even undefined', async () => {
    expect(await withTimeout(5, () => sleep(1000), { timeoutValue: 'late' })).toBe('late');
    expect(await withTimeout(5, () => sleep(1000).then(() => 'x'), { timeoutValue: undefined })).toBeUndefined();
  });

  it('returns the value when in time', async () => {
    expect(await withTimeout(1000, async () => {
      await sleep(1);
      return 7;
    })).toBe(7);
  });

  it('nested: the innermost that fires is the one thrown; an outer one passes through inner', async () => {
    const inner = await withTimeout(1000, () => withTimeout(10, () => sleep(500), { timeoutValue: 'inner' }));
    expect(inner).toBe('inner');
    // The outer fires first: the inner withTimeout does not swallow it.
    const outer = await withTimeout(10, () => withTimeout(1000, () => sleep(500), { timeoutValue: 'inner' }), { timeoutValue: 'outer' });
    expect(outer).toBe('outer');
  });

  it('a blocking call turns only its own timeout into its result', async () => {
    const g = spawn(() => sleep(1000));
    // join(500) would resolve quietly at its own timeout; the outer 10 ms timeout passes through.
    const e = await withTimeout(10, () => g.join(500)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TimeoutError);
    expect((e as TimeoutError).timeout?.ms).toBe(10);
    await g.kill();
  });

  it('is scoped to fn’s own flow: a sibling wait in the same greenlet is untouched', async () => {
    const g = spawn(async () => {
      const [a, b] = await Promise.all([
        withTimeout(10, () => sleep(500), { timeoutValue: 'timed out' }),
        sleep(30).then(() => 'sibling slept'),
      ]);
      return [a, b];
    });
    expect(await g.get()).toEqual(['timed out', 'sibling slept']);
  });

  it('a kill reaches the waits inside withTimeout', async () => {
    let inner: unknown;
    const g = spawn(() => withTimeout(1000, async () => {
      try {
        await sleep(500);
      } catch (e) {
        inner = e;
        throw e;
      }
    }));
    await sleep(0);
    await g.kill();
    expect(inner).toBe(g.value);
  });

  it('checks its arguments synchronously', () => {
    expect(() => withTimeout(NaN, () => 1)).toThrow(RangeError);
    expect(() => withTimeout(5, 'x' as never)).toThrow(TypeError);
  });
});
