import { describe, expect, it } from 'vitest';
import { Event, Queue, QueueEmpty, Timeout, TimeoutError, iwait, sleep, spawn, spawnLater, withTimeout } from '../../src/index.js';
import { expectNoLeaks, withVirtualTime } from '../../src/testing/index.js';

describe('withVirtualTime: timeouts and delayed starts run on the virtual clock', () => {
  it('withTimeout fires at its virtual deadline, and a quiet one gives its value', async () => {
    const out = await withVirtualTime(async (clock) => {
      const err = await withTimeout(30_000, () => sleep(3_600_000)).catch((e: unknown) => e);
      const at = clock.now();
      const quiet = await withTimeout(5000, () => new Event().wait(), { timeoutValue: 'late' });
      return { timedOut: err instanceof TimeoutError, at, quiet, end: clock.now() };
    });
    expect(out).toEqual({ timedOut: true, at: 30_000, quiet: 'late', end: 35_000 });
  });

  it('a Timeout interrupts the greenlet that started it at its virtual time', async () => {
    const at = await withVirtualTime(async (clock) => {
      const t = Timeout.startNew(45_000);
      try {
        await new Queue<number>().get();
      } catch (e) {
        if (!(e instanceof TimeoutError) || e.timeout !== t) throw e;
      } finally {
        t.cancel();
      }
      return clock.now();
    });
    expect(at).toBe(45_000);
  });

  it("a blocking call's own { timeout } expires on the virtual clock", async () => {
    const out = await withVirtualTime(async (clock) => {
      const q = new Queue<number>();
      const e = await q.get({ timeout: 120_000 }).catch((x: unknown) => x);
      const set = await new Event().wait(60_000);
      const ready: unknown[] = [];
      for await (const w of iwait([spawn(() => sleep(10_000))], { timeout: 600_000 })) ready.push(w);
      return { empty: e instanceof QueueEmpty, set, ready: ready.length, at: clock.now() };
    });
    expect(out).toEqual({ empty: true, set: false, ready: 1, at: 190_000 });
  });

  it('spawnLater starts the greenlet at its virtual time', async () => {
    const started = await withVirtualTime(async (clock) => {
      const g = spawnLater(90_000, () => clock.now());
      return g.get();
    });
    expect(started).toBe(90_000);
    await expectNoLeaks();
  });
});
