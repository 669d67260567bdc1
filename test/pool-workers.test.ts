import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { Event, GreenletExit, Local, Timeout, TimeoutError, config, formatRunInfo, getCurrent, sleep, spawn, withTimeout, type Greenlet } from '../src/index.js';
import { Pool } from '../src/pool/pool.js';

// Map tasks run in long-lived worker greenlets (src/pool/worker.ts): what a task shares with
// its worker, and what it must not share with the task before or after it.
describe('map tasks in worker greenlets', () => {
  it('runs many tasks in one worker, each with its own Local values', async () => {
    const pool = new Pool(1);
    const local = new Local<number>();
    const seen: Array<[number, number | undefined, boolean]> = [];
    const workers = new Set<Greenlet>();
    const out = await pool.map(async (x: number) => {
      workers.add(getCurrent());
      seen.push([x, local.get(), local.has()]);
      local.set(x);
      await sleep(1);
      expect(local.get()).toBe(x); // its own value, across its waits
      return x;
    }, [1, 2, 3, 4]);
    expect(out).toEqual([1, 2, 3, 4]);
    expect(workers.size).toBe(1); // the same worker greenlet ran all four...
    expect(seen).toEqual([1, 2, 3, 4].map((x) => [x, undefined, false])); // ...and none saw another's value
    expect(local.get()).toBeUndefined(); // nor the caller
  });

  it('a consumer killed mid-map stops it: no task starts after the kill, running ones finish, the workers leave', async () => {
    const pool = new Pool(3);
    const started: number[] = [];
    const finished: number[] = [];
    let closed = false;
    function* input() {
      try {
        for (let i = 0; i < 100; i++) yield i;
      } finally {
        closed = true;
      }
    }
    const consumer = spawn(async () => {
      for await (const _ of pool.imapUnordered(async (x: number) => {
        started.push(x);
        await sleep(x < 3 ? 1 : 20);
        finished.push(x);
        return x;
      }, input())) {
        // consume
      }
    });
    while (finished.length < 3) await sleep(1);
    await consumer.kill();
    const startedAtKill = started.length;
    expect(await pool.join({ timeout: 5_000 })).toBe(true);
    await sleep(1);
    expect(closed).toBe(true);
    expect(started.length).toBe(startedAtKill);
    expect(finished.sort((a, b) => a - b)).toEqual([...started].sort((a, b) => a - b)); // not killed: they finished
    expect(pool.size).toBe(0);
    expect(pool.freeCount()).toBe(3);
  });

  it('killing the pool kills the running tasks (their finally blocks run) and ends the map with GreenletExit', async () => {
    const pool = new Pool(2);
    const cleaned: number[] = [];
    const m = pool.map(async (x: number) => {
      try {
        await sleep(x === 0 ? 1 : 60_000);
      } finally {
        if (x > 0) cleaned.push(x);
      }
      return x;
    }, [0, 1, 2, 3]);
    const caught = m.catch((e: unknown) => e);
    while (cleaned.length === 0 && pool.size < 2) await sleep(1);
    await sleep(5);
    await pool.kill();
    expect(await caught).toBeInstanceOf(GreenletExit);
    expect(cleaned.sort()).toEqual([1, 2]);
    expect(pool.size).toBe(0);
  });

  it('a Timeout in one task ends that task only: the others give their results and the pool maps on', async () => {
    const pool = new Pool(2);
    const got: number[] = [];
    let error: unknown;
    // Task 3 times out only once the others are done, however slow a busy machine runs
    // them: their results come before its error.
    const othersDone = new Event();
    let done = 0;
    try {
      for await (const v of pool.imapUnordered(async (x: number) => {
        if (x === 3) {
          await othersDone.wait();
          const t = Timeout.startNew(30);
          try {
            await sleep(60_000);
          } finally {
            t.cancel();
          }
        }
        await sleep(1);
        if (x !== 3 && ++done === 5) othersDone.set();
        return x;
      }, [0, 1, 2, 3, 4, 5])) got.push(v);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TimeoutError);
    expect(got.sort()).toEqual([0, 1, 2, 4, 5]);
    // A caught Timeout leaves the worker usable: the next task runs with no interrupt pending.
    const out = await pool.map(async (x: number) => {
      if (x === 0) {
        const t = Timeout.startNew(10);
        try {
          await sleep(60_000);
        } catch (e) {
          if (!(e instanceof TimeoutError) || e.timeout !== t) throw e;
          return -1;
        } finally {
          t.cancel();
        }
      }
      await sleep(2);
      return x;
    }, [0, 1, 2]);
    expect(out).toEqual([-1, 1, 2]);
  });

  it('a Timeout a task leaves pending never fires in a later task: its worker retires', async () => {
    const pool = new Pool(1);
    const workers: Greenlet[] = [];
    const out = await pool.map(async (x: number) => {
      workers.push(getCurrent());
      if (x === 0) Timeout.startNew(20); // forgotten: never cancelled
      await sleep(x === 0 ? 1 : 15);
      return x;
    }, [0, 1, 2, 3, 4]);
    // Tasks 1-4 each waited 15 ms, well past the forgotten 20 ms deadline: none was hit.
    expect(out).toEqual([0, 1, 2, 3, 4]);
    expect(workers[1]).not.toBe(workers[0]); // the worker that left it did not run task 1
    expect(workers[2]).toBe(workers[1]); // a worker with nothing pending goes on
  });

  it('a task abandoned on an await greenio cannot see retires its worker: the next task runs in a fresh one', async () => {
    const pool = new Pool(1);
    const local = new Local<string>();
    const store = new AsyncLocalStorage<string>();
    let release!: () => void;
    const unseen = new Promise<void>((r) => (release = r));
    const lateView: Array<string | undefined> = [];
    const workers: Greenlet[] = [];
    const out = await store.run('caller', () =>
      pool.map(async (x: number) => {
        workers.push(getCurrent());
        local.set(`task ${x}`);
        if (x === 0) {
          try {
            await withTimeout(20, async () => {
              await unseen; // greenio cannot interrupt this: the flow is abandoned at 20 ms
              lateView.push(local.get(), store.getStore());
            });
          } catch (e) {
            if (!(e instanceof TimeoutError)) throw e;
            return 'timed out';
          }
        }
        await sleep(1);
        return local.get();
      }, [0, 1, 2]),
    );
    expect(out).toEqual(['timed out', 'task 1', 'task 2']);
    expect(workers[1]).not.toBe(workers[0]); // the worker left with the abandoned flow
    expect(workers[2]).toBe(workers[1]);
    release();
    for (let i = 0; i < 50 && lateView.length === 0; i++) await sleep(1);
    // The abandoned code resumed in its own task's context, not a later task's.
    expect(lateView).toEqual(['task 0', 'caller']);
  });

  it('a worker killed while its task awaits what greenio cannot see is abandoned; later tasks get fresh workers', async () => {
    const pool = new Pool(1);
    const local = new Local<string>();
    let release!: () => void;
    const unseen = new Promise<void>((r) => (release = r));
    let lateView: string | undefined = 'not yet';
    const m = pool.map(async (x: number) => {
      local.set(`first ${x}`);
      await unseen;
      lateView = local.get();
      return x;
    }, [0, 1]);
    const caught = m.catch((e: unknown) => e);
    await sleep(5);
    const [abandoned] = [...pool];
    await pool.kill(undefined, { timeout: 5_000 });
    expect(await caught).toBeInstanceOf(GreenletExit);
    expect(abandoned!.dead).toBe(true);
    const next = await pool.map(async (x: number) => [getCurrent(), local.get(), x] as const, [7]);
    expect(next[0]![0]).not.toBe(abandoned);
    expect(next[0]![1]).toBeUndefined();
    release();
    for (let i = 0; i < 50 && lateView === 'not yet'; i++) await sleep(1);
    expect(lateView).toBe('first 0'); // the abandoned code still sees its own task's values
    expect(pool.size).toBe(0);
  });

  it('run-info shows a running task as its worker greenlet, named and placed by the task function', async () => {
    const pool = new Pool(2, { name: 'resizers' });
    const m = pool.map(async function resizeImage(x: number) {
      await sleep(x === 0 ? 60_000 : 1);
      return x;
    }, [0, 1, 2]);
    const caught = m.catch((e: unknown) => e);
    await sleep(20);
    const info = formatRunInfo();
    expect(info).toMatch(/\(resizeImage\) \[waiting/);
    expect(info).toMatch(/fn resizeImage at .*pool-workers\.test\.ts:\d+/);
    expect(info).toMatch(/waits on: sleep 60000ms/);
    await pool.kill();
    expect(await caught).toBeInstanceOf(GreenletExit);
  });

  it.each(['imapUnordered', 'imap'] as const)('%s: a consumer whose wake-ups the switch interval defers keeps its workers: none is dismissed and replaced', async (method) => {
    const prev = config.switchInterval;
    config.switchInterval = 0.001; // wake-ups deferred to the next loop turn all the time
    try {
      const pool = new Pool(100);
      const workers = new Set<Greenlet>();
      let n = 0;
      const input = Array.from({ length: 20_000 }, (_, i) => i);
      for await (const _ of pool[method](async (x: number) => {
        workers.add(getCurrent());
        await sleep(0);
        return x;
      }, input)) n++;
      expect(n).toBe(20_000);
      // Each of the 100 slots keeps its worker (a worker parked one turn used to be dismissed:
      // 2,000+ workers; and an ordered imap reusing its latest parked worker first, 3,000+).
      expect(workers.size).toBeLessThanOrEqual(150);
    } finally {
      config.switchInterval = prev;
    }
  });

  it('a consumer that stops calling leaves no worker parked: they leave and give their slots back', async () => {
    const pool = new Pool(4);
    const it = pool.imapUnordered(async (x: number) => {
      await sleep(0);
      return x;
    }, Array.from({ length: 100 }, (_, i) => i));
    expect((await it.next()).done).toBe(false);
    expect(pool.size).toBeGreaterThan(0);
    // No more next(): the workers finish their tasks, park, and are dismissed within a few loop turns.
    for (let i = 0; i < 1_000 && pool.size > 0; i++) await sleep(0);
    expect(pool.size).toBe(0);
    expect(pool.freeCount()).toBe(4);
    await it.return!();
  });
});
