// An interrupt that reached an operation lets the code that handles it unwind through
// more IO before the greenlet (or withTimeout's flow) is given up: a library that answers
// a failed query with a ROLLBACK, then rejects (knex does: test/clients/pg-unwind.test.ts).
// Abandoning it then would cut that IO off and leave the library's promise unsettled for
// good. And a thenable that starts its work only when awaited (a query builder) is awaited
// inside withTimeout's flow, so the deadline reaches that work. Real child processes here.
import { execFile } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import * as hub from '../../src/hub/index.js';
import { GreenletExit, sleep, spawn, TimeoutError, withTimeout } from '../../src/index.js';
import { patchAll, unpatchAll } from '../../src/monkey.js';

patchAll({ warnLate: false });
afterAll(() => unpatchAll());

/**
 * A library call as knex makes one: `sleep 10` in a child; if it fails (the interrupt's
 * error reaches its callback), a cleanup child runs for `cleanupS` seconds (the ROLLBACK),
 * and only then does the call reject with the first error.
 */
function libraryCall(log: string[], cleanupS = 0.3): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('sleep', ['10'], (err) => {
      if (!err) return resolve('finished');
      log.push('failed');
      execFile('sleep', [String(cleanupS)], (cleanupErr) => {
        log.push(cleanupErr ? `cleanup failed: ${cleanupErr.message}` : 'cleaned up');
        reject(err);
      });
    });
  });
}

describe('an interrupt delivered to an operation: the unwinding IO runs before anything is given up', () => {
  it('kill: the cleanup IO runs to its end, then the greenlet dies with GreenletExit; nothing is abandoned', async () => {
    const log: string[] = [];
    const before = hub.abandonCounts.kills;
    const g = spawn(() => libraryCall(log));
    await sleep(100);
    const t0 = performance.now();
    await g.kill();
    const ms = performance.now() - t0;
    expect(log).toEqual(['failed', 'cleaned up']);
    expect(g.value).toBeInstanceOf(GreenletExit);
    expect(hub.abandonCounts.kills).toBe(before);
    expect(ms).toBeGreaterThanOrEqual(200); // it waited for the 0.3 s cleanup
    expect(ms).toBeLessThan(5000); // not for the 10 s call
  });

  it('withTimeout: the cleanup IO runs, then it throws its TimeoutError; the flow is not abandoned', async () => {
    const log: string[] = [];
    const before = hub.abandonCounts.timeouts;
    const t0 = performance.now();
    const err = await withTimeout(100, () => libraryCall(log)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(log).toEqual(['failed', 'cleaned up']);
    expect(hub.abandonCounts.timeouts).toBe(before);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('a greenlet that, once killed, only keeps a timer going (an interval) is still given up: the kill completes', async () => {
    let interval: ReturnType<typeof setInterval> | undefined;
    const before = hub.abandonCounts.kills;
    const g = spawn(
      () =>
        new Promise<void>(() => {
          execFile('sleep', ['10'], () => {
            interval = setInterval(() => {}, 50); // begun after the kill; never resolves anything
          });
        }),
    );
    await sleep(100);
    const t0 = performance.now();
    await g.kill();
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(g.dead).toBe(true);
    expect(hub.abandonCounts.kills).toBe(before + 1);
    expect(interval).toBeDefined();
    clearInterval(interval); // (already cleared by the greenlet's death; harmless)
  });
});

/** A thenable that starts its work only when awaited, as a knex query builder does. */
function lazy(work: () => Promise<unknown>, started: string[]): PromiseLike<unknown> {
  return {
    then(onOk, onErr) {
      started.push(hub.currentCore() === hub.main ? 'main' : 'greenlet');
      return work().then(onOk, onErr);
    },
  };
}

describe('withTimeout over a thenable that starts its work when awaited', () => {
  for (const where of ['main', 'a greenlet'] as const) {
    it(`in ${where}: the work runs in the timed flow, so the deadline interrupts it (not abandoned)`, async () => {
      const started: string[] = [];
      const seen: unknown[] = [];
      const before = hub.abandonCounts.timeouts;
      const run = async (): Promise<unknown> =>
        withTimeout(100, () =>
          lazy(() => sleep(10_000).catch((e: unknown) => {
            seen.push(e);
            throw e;
          }), started),
        ).catch((e: unknown) => e);
      const t0 = performance.now();
      const err = where === 'main' ? await run() : await spawn(run).get();
      expect(err).toBeInstanceOf(TimeoutError);
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(seen).toHaveLength(1); // the sleep inside the thenable's work got the timeout
      expect(seen[0]).toBe(err);
      expect(hub.abandonCounts.timeouts).toBe(before);
      expect(started).toEqual([where === 'main' ? 'main' : 'greenlet']);
    });
  }
});
