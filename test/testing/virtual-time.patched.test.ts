import timersPromises from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, spawn } from '../../src/index.js';
import { patchTimers, unpatchAll } from '../../src/monkey.js';
import { expectNoLeaks, withVirtualTime } from '../../src/testing/index.js';

// This file's process runs with the timers patch: setTimeout/setInterval in greenlets are
// greenio's. Hand-made sleeps are what these tests are about: no warning for each kill of one
// (this file's process only).
beforeAll(() => {
  patchTimers();
  config.warnUnreachable = false;
});
afterAll(() => unpatchAll());

describe('withVirtualTime with patched timers', () => {
  it('times setTimeout and setInterval of its greenlets, clearInterval included', async () => {
    const t0 = performance.now();
    const seen = await withVirtualTime(async (clock) => {
      const ticks: number[] = [];
      const iv = setInterval(() => ticks.push(clock.now()), 15_000);
      await new Promise<void>((r) => setTimeout(r, 60_000)); // a hand-made sleep: its own timer
      clearInterval(iv);
      await new Promise<void>((r) => setTimeout(r, 60_000));
      return { ticks, now: clock.now() };
    });
    expect(seen).toEqual({ ticks: [15_000, 30_000, 45_000, 60_000], now: 120_000 });
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('passes arguments, orders equal deadlines by creation, and honours clearTimeout and refresh()', async () => {
    const order = await withVirtualTime(async () => {
      const out: string[] = [];
      setTimeout((a: string, b: string) => out.push(`${a}${b}`), 1000, 'a', '1');
      const cleared = setTimeout(() => out.push('cleared'), 500);
      setTimeout(() => out.push('b'), 1000);
      clearTimeout(cleared);
      const refreshed = setTimeout(() => out.push('refreshed'), 800);
      await new Promise<void>((r) => setTimeout(r, 400));
      refreshed.refresh(); // now due at 400 + 800
      await new Promise<void>((r) => setTimeout(r, 2000));
      return out;
    });
    expect(order).toEqual(['a1', 'b', 'refreshed']);
  });

  it('a kill clears the virtual timers of the greenlet it kills', async () => {
    const fired: string[] = [];
    await withVirtualTime(async () => {
      const g = spawn(async () => {
        setTimeout(() => fired.push('late'), 10_000);
        await new Promise<void>((r) => setTimeout(r, 60_000));
      });
      await new Promise<void>((r) => setTimeout(r, 1000));
      await g.kill();
      await new Promise<void>((r) => setTimeout(r, 60_000));
    });
    expect(fired).toEqual([]);
    await expectNoLeaks();
  });

  it('leaves timers set outside the bubble on real time', async () => {
    const t = performance.now();
    let realMs = 0;
    const outside = new Promise<void>((r) => setTimeout(() => ((realMs = performance.now() - t), r()), 50));
    await withVirtualTime(() => new Promise<void>((r) => setTimeout(r, 3_600_000)));
    await outside;
    expect(realMs).toBeGreaterThanOrEqual(45);
  });

  it('fails with the error a timer callback throws', async () => {
    await expect(
      withVirtualTime(async () => {
        setTimeout(() => {
          throw new RangeError('from a timer');
        }, 5000);
        await new Promise<void>((r) => setTimeout(r, 10_000));
      }),
    ).rejects.toThrow(new RangeError('from a timer'));
    await expectNoLeaks();
  });

  it('runs timers/promises setTimeout on the virtual clock over the patch, and puts the patched one back', async () => {
    const patched = timersPromises.setTimeout;
    const at = await withVirtualTime(async (clock) => {
      expect(timersPromises.setTimeout).not.toBe(patched);
      await timersPromises.setTimeout(120_000);
      return clock.now();
    });
    expect(at).toBe(120_000);
    expect(timersPromises.setTimeout).toBe(patched);
  });
});
