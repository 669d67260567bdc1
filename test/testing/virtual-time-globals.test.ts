/**
 * withVirtualTime and what programs call directly: `timers/promises` and `Date` read the
 * virtual clock in the bubble's greenlets, real time everywhere else, and nothing stays
 * replaced once the bubble ends, however it ends.
 */
import timersPromises, { setInterval as everyMs, setTimeout as delay } from 'node:timers/promises';
import { syncBuiltinESMExports } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Event, Timeout, TimeoutError, sleep, spawn } from '../../src/index.js';
import { VirtualTimeError, expectNoLeaks, withVirtualTime } from '../../src/testing/index.js';

const REAL = {
  Date: globalThis.Date,
  now: Date.now,
  setTimeout: timersPromises.setTimeout,
  setInterval: timersPromises.setInterval,
  setImmediate: timersPromises.setImmediate,
  esmSetTimeout: delay,
  esmSetInterval: everyMs,
};

/** Every replaced name is back to the very function it was, ES module bindings included. */
function expectNothingReplaced(): void {
  expect(globalThis.Date).toBe(REAL.Date);
  expect(Date.now).toBe(REAL.now);
  expect(timersPromises.setTimeout).toBe(REAL.setTimeout);
  expect(timersPromises.setInterval).toBe(REAL.setInterval);
  expect(timersPromises.setImmediate).toBe(REAL.setImmediate);
  expect(delay).toBe(REAL.esmSetTimeout);
  expect(everyMs).toBe(REAL.esmSetInterval);
}

/** Retry `attempt` with exponential back-off from 1 s (`await setTimeout(ms)` of node:timers/promises) until it succeeds or 10 minutes are spent. */
async function retry(attempt: () => Promise<string>, log: number[]): Promise<string> {
  const start = Date.now();
  for (let wait = 1000; ; wait *= 2) {
    try {
      return await attempt();
    } catch (e) {
      const spent = Date.now() - start;
      log.push(spent);
      if (spent >= 600_000) throw new Error(`gave up after ${log.length} attempts`, { cause: e });
      await delay(Math.min(wait, 600_000 - spent));
    }
  }
}

describe('withVirtualTime: timers/promises and Date in the bubble', () => {
  it('runs a retry loop of setTimeout() back-offs totalling 10 minutes in under a second', async () => {
    const log: number[] = [];
    const t0 = performance.now();
    const out = await withVirtualTime(async (clock) => {
      const e = (await retry(() => Promise.reject(new Error('503')), log).catch((x: unknown) => x)) as Error;
      return { message: e.message, at: clock.now() };
    });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(out).toEqual({ message: 'gave up after 11 attempts', at: 600_000 });
    expect(log).toEqual([0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 600].map((s) => s * 1000));
    expectNothingReplaced();
  });

  it('Date.now() and new Date() advance by exactly the virtual step inside, and stay real outside', async () => {
    let outside: { slept: number; now: number } | null = null;
    const watcher = spawn(async () => {
      const before = Date.now();
      await sleep(50); // a greenlet outside the bubble: real time
      outside = { slept: Date.now() - before, now: new Date().getTime() };
    });
    const realStart = Date.now();
    const inside = await withVirtualTime(async () => {
      const a = Date.now();
      const d = new Date();
      await delay(90_000, 'v');
      const b = Date.now();
      await sleep(30_000);
      const text = Date();
      return { a, d: d.getTime(), step1: b - a, step2: Date.now() - b, later: new Date().getTime() - a, text, epoch: new Date(0).getTime(), isDate: d instanceof Date };
    });
    await watcher.join();
    expect(inside).toMatchObject({ step1: 90_000, step2: 30_000, later: 120_000, epoch: 0, isDate: true });
    expect(inside.d).toBe(inside.a);
    expect(inside.a).toBeGreaterThanOrEqual(realStart);
    expect(inside.text).toBe(new REAL.Date(inside.a + 120_000).toString());
    // Real time went on outside: some tens of ms, never the bubble's two minutes.
    expect(outside!.slept).toBeGreaterThanOrEqual(45);
    expect(outside!.slept).toBeLessThan(60_000);
    expect(Math.abs(outside!.now - REAL.now())).toBeLessThan(60_000);
    expect(Date.now() - realStart).toBeLessThan(60_000);
    expectNothingReplaced();
  });

  it('setInterval() ticks on the virtual clock, for await ... break stops it; value and ticks not yet taken as Node', async () => {
    const seen = await withVirtualTime(async (clock) => {
      const ticks: string[] = [];
      for await (const v of everyMs(15_000, 'tick')) {
        ticks.push(`${String(v)}@${clock.now()}`);
        if (ticks.length === 3) break;
      }
      const it = timersPromises.setInterval(1000, 'x');
      await delay(3500); // three ticks come while nobody takes them
      const queued = [await it.next(), await it.next(), await it.next()].map((r) => `${String(r.value)}@${clock.now()}`);
      const fourth = `${String((await it.next()).value)}@${clock.now()}`;
      await it.return!();
      return { ticks, queued, fourth, done: (await it.next()).done };
    });
    expect(seen).toEqual({ ticks: ['tick@15000', 'tick@30000', 'tick@45000'], queued: ['x@48500', 'x@48500', 'x@48500'], fourth: 'x@49000', done: true });
    expectNothingReplaced();
  });

  it('an AbortSignal aborts them as Node does; a Timeout interrupts them as it does sleep()', async () => {
    const out = await withVirtualTime(async (clock) => {
      const ac = new AbortController();
      spawn(async () => {
        await sleep(5000);
        ac.abort(new Error('enough'));
      });
      const e1 = (await delay(60_000, null, { signal: ac.signal }).catch((e: unknown) => e)) as Error & { code: string };
      const at1 = clock.now();
      const e2 = (await delay(10, null, { signal: ac.signal }).catch((e: unknown) => e)) as Error;
      const it = everyMs(1000, null, { signal: ac.signal });
      const e3 = (await it.next().catch((e: unknown) => e)) as Error;
      const t = Timeout.startNew(2500);
      const e4 = await delay(3_600_000).catch((e: unknown) => e);
      t.cancel();
      return { e1: [e1.name, e1.code, e1.message, (e1.cause as Error).message, at1], e2: e2.name, e3: e3.name, timedOut: e4 instanceof TimeoutError && e4.timeout === t, at: clock.now() };
    });
    expect(out).toEqual({ e1: ['AbortError', 'ABORT_ERR', 'The operation was aborted', 'enough', 5000], e2: 'AbortError', e3: 'AbortError', timedOut: true, at: 7500 });
  });

  it('outside the bubble while it runs, they are Node\'s: real delays, real errors for bad options', async () => {
    let realMs = 0;
    const outside = (async () => {
      const t = performance.now();
      await timersPromises.setTimeout(40);
      realMs = performance.now() - t;
    })();
    await withVirtualTime(async () => {
      await delay(3_600_000);
      // Bad options go to Node, which rejects them with its own error.
      await expect(delay(10, null, { signal: 'no' } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    });
    await outside;
    expect(realMs).toBeGreaterThanOrEqual(35);
  });

  it('leaves nothing replaced when the bubble fails: a deadlock, or fn throwing', async () => {
    const dead = await withVirtualTime(async () => {
      await delay(1000);
      await new Event().wait(); // nobody sets it: a deadlock
    }).catch((e: unknown) => e);
    expect(dead).toBeInstanceOf(VirtualTimeError);
    expectNothingReplaced();
    await expect(withVirtualTime(async () => {
      await delay(1000);
      throw new RangeError('boom');
    })).rejects.toThrow(new RangeError('boom'));
    expectNothingReplaced();
    await expectNoLeaks();
  });

  it('leaves alone a function someone else put in place while the bubble ran (an unpatch), and puts back the rest', async () => {
    const mine = Object.assign(() => Promise.resolve('mine'), { own: true });
    try {
      await withVirtualTime(async () => {
        timersPromises.setInterval = mine as never;
        await delay(1000);
      });
      expect(timersPromises.setInterval).toBe(mine);
      expect(timersPromises.setTimeout).toBe(REAL.setTimeout);
      expect(Date.now).toBe(REAL.now);
      expect(globalThis.Date).toBe(REAL.Date);
    } finally {
      timersPromises.setInterval = REAL.setInterval;
      syncBuiltinESMExports();
      expect(everyMs).toBe(REAL.esmSetInterval);
    }
  });
});
