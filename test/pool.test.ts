import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { Greenlet, GreenletExit, QueueFull, TimeoutError, getCurrent, killAll, sleep, spawn, withTimeout } from '../src/index.js';
import { Group, Pool } from '../src/pool/pool.js';
import { runFixture } from './run-fixture.js';

/** Counts tasks running at once. */
function meter() {
  const m = {
    running: 0,
    peak: 0,
    done: 0,
    started: [] as number[],
    task: async (x: number, ms = 5): Promise<number> => {
      m.started.push(x);
      m.running++;
      m.peak = Math.max(m.peak, m.running);
      try {
        await sleep(ms);
      } finally {
        m.running--;
        m.done++;
      }
      return x;
    },
  };
  return m;
}

/** Captures stderr while `fn` runs. */
async function stderrOf(fn: () => Promise<void>): Promise<string> {
  const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await fn();
    await sleep(5);
    return write.mock.calls.map((c) => String(c[0])).join('');
  } finally {
    write.mockRestore();
  }
}

describe('Group', () => {
  it('spawn adds a member that leaves the group when it dies', async () => {
    const group = new Group();
    const g = group.spawn(async (x: number) => {
      await sleep(5);
      return x * 2;
    }, 21);
    expect(g).toBeInstanceOf(Greenlet);
    expect(group.has(g)).toBe(true);
    expect(group.size).toBe(1);
    expect([...group]).toEqual([g]);
    expect(await g.get()).toBe(42);
    expect(group.has(g)).toBe(false);
    expect(group.size).toBe(0);
  });

  it('add tracks a greenlet, started or not, until it dies; adding twice or a dead one changes nothing', async () => {
    const group = new Group();
    const g = new Greenlet(() => sleep(5));
    group.add(g);
    group.add(g);
    expect(group.size).toBe(1);
    g.start();
    await g.join();
    expect(group.size).toBe(0);
    group.add(g);
    expect(group.has(g)).toBe(false);
  });

  it('discard stops tracking a greenlet, which goes on running', async () => {
    const group = new Group();
    const g = group.spawn(() => sleep(10));
    group.discard(g);
    expect(group.has(g)).toBe(false);
    expect(await group.join()).toBe(true);
    expect(g.dead).toBe(false);
    await g.join();
    expect(g.successful()).toBe(true);
  });

  it('can be made from greenlets', async () => {
    const a = spawn(() => sleep(5));
    const b = spawn(() => sleep(5));
    const group = new Group([a, b]);
    expect(group.size).toBe(2);
    await group.join();
    expect(group.size).toBe(0);
  });

  it('join resolves true once empty (at once if it is), false at its timeout', async () => {
    const group = new Group();
    expect(await group.join()).toBe(true);
    const slow = group.spawn(() => sleep(1000));
    group.spawn(() => sleep(5));
    expect(await group.join({ timeout: 20 })).toBe(false);
    expect(group.size).toBe(1);
    await slow.kill();
    expect(await group.join()).toBe(true);
  });

  it('join waits for members added while it waits', async () => {
    const group = new Group();
    const log: string[] = [];
    group.spawn(async () => {
      await sleep(5);
      group.spawn(async () => {
        await sleep(10);
        log.push('late member');
      });
    });
    await group.join();
    expect(log).toEqual(['late member']);
  });

  it('join with raiseError throws the first member error as soon as it fails, and it is not reported as unjoined', async () => {
    const group = new Group();
    const boom = new Error('boom');
    const slow = group.spawn(() => sleep(1000));
    group.spawn(async () => {
      await sleep(5);
      throw boom;
    });
    const out = await stderrOf(async () => {
      await expect(group.join({ raiseError: true })).rejects.toBe(boom);
    });
    expect(out).not.toMatch(/boom/);
    expect(slow.dead).toBe(false);
    await group.kill();
  });

  it('join without raiseError resolves when members fail; membership does not count as observing the failure', async () => {
    const group = new Group();
    const out = await stderrOf(async () => {
      group.spawn(function failing() {
        throw new Error('nobody looked');
      });
      expect(await group.join()).toBe(true);
    });
    expect(out).toMatch(/failing\) failed and nobody joined it: Error: nobody looked/);
  });

  it('kill kills every member and waits for their finally blocks, waits included', async () => {
    const group = new Group();
    const log: string[] = [];
    for (const name of ['a', 'b']) {
      group.spawn(async () => {
        try {
          await sleep(60_000);
        } finally {
          await sleep(10);
          log.push(name);
        }
      });
    }
    await sleep(0);
    await group.kill();
    expect(log.sort()).toEqual(['a', 'b']);
    expect(group.size).toBe(0);
  });

  it('kill interrupts each member once: its cleanup is not interrupted again', async () => {
    const group = new Group();
    let cleaned = false;
    const g = group.spawn(async () => {
      try {
        await sleep(60_000);
      } finally {
        await sleep(20);
        cleaned = true;
      }
    });
    await sleep(0);
    const first = group.kill();
    await sleep(5);
    await group.kill(); // must not interrupt the cleanup's sleep
    await first;
    expect(cleaned).toBe(true);
    expect(g.value).toBeInstanceOf(GreenletExit);
  });

  it('kill resolves at its timeout even if a member outlives it (killAll would throw)', async () => {
    const group = new Group();
    let stop = false;
    const stubborn = group.spawn(async () => {
      while (!stop) {
        try {
          await sleep(1000);
        } catch {
          // swallows kills
        }
      }
    });
    await sleep(0);
    await expect(group.kill(undefined, { timeout: 20 })).resolves.toBeUndefined();
    expect(stubborn.dead).toBe(false);
    await expect(killAll([stubborn], undefined, { timeout: 20 })).rejects.toBeInstanceOf(TimeoutError);
    stop = true;
    await stubborn.kill();
  });

  it('kill with block false returns at once; a custom error fails the members', async () => {
    const group = new Group();
    const err = new Error('stop');
    const g = group.spawn(() => sleep(60_000));
    g.link(() => {});
    await sleep(0);
    const p = group.kill(err, { block: false });
    expect(g.dead).toBe(false);
    await p;
    await g.join();
    expect(g.exception).toBe(err);
  });

  it('a member that kills its own group dies last, with the error thrown at the call', async () => {
    const group = new Group();
    const log: string[] = [];
    group.spawn(async () => {
      try {
        await sleep(60_000);
      } finally {
        log.push('other');
      }
    });
    const killer = group.spawn(async () => {
      await sleep(1);
      try {
        await group.kill();
      } catch (e) {
        log.push('killer');
        throw e;
      }
    });
    await killer.join();
    expect(log).toEqual(['other', 'killer']);
    expect(killer.value).toBeInstanceOf(GreenletExit);
    expect(group.size).toBe(0);
  });

  it('killOne kills a member and waits for it; a non-member is left alone', async () => {
    const group = new Group();
    const member = group.spawn(() => sleep(60_000));
    const outsider = spawn(() => sleep(60_000));
    await sleep(0);
    await group.killOne(outsider);
    expect(outsider.dead).toBe(false);
    await group.killOne(member);
    expect(member.dead).toBe(true);
    expect(group.size).toBe(0);
    await outsider.kill();
  });

  it('apply resolves to the result or throws the error', async () => {
    const group = new Group();
    expect(await group.apply((a: number, b: number) => a + b, [1, 2])).toBe(3);
    const boom = new Error('boom');
    await expect(group.apply(() => Promise.reject(boom))).rejects.toBe(boom);
  });

  it('rejects bad arguments synchronously, quoting them', () => {
    const group = new Group();
    expect(() => group.spawn('x' as never)).toThrow(/Expected `fn` to be a function, got `'x'` \(string\)/);
    expect(() => group.add(42 as never)).toThrow(/Expected `greenlet` to be a Greenlet, got `42` \(number\)/);
    expect(() => group.add(getCurrent())).toThrow(/main greenlet/);
    expect(() => group.kill('no' as never)).toThrow(/Expected `error` to be an Error/);
    expect(() => group.join({ timeout: -1 })).toThrow(RangeError);
    expect(() => group.apply(() => 1, 'a' as never)).toThrow(/Expected `args` to be an array/);
  });

  it('types spawn as a greenlet from a Group and a promise of one from a Pool', () => {
    const f = async (x: number) => x;
    expectTypeOf(new Group().spawn(f, 1)).toEqualTypeOf<Greenlet<number>>();
    expectTypeOf(new Pool(1).spawn(f, 1)).toEqualTypeOf<Promise<Greenlet<number>>>();
    expectTypeOf(new Pool(1).imap(f, [1])).toEqualTypeOf<AsyncIterableIterator<number>>();
    expectTypeOf(new Group().map(f, [1])).toEqualTypeOf<Promise<number[]>>();
  });
});

describe('Pool', () => {
  it('rejects a capacity that is not an integer >= 1, quoting it', () => {
    expect(() => new Pool(0)).toThrow(new RangeError('Expected `capacity` to be an integer >= 1, got `0` (number)'));
    expect(() => new Pool(-1)).toThrow(RangeError);
    expect(() => new Pool(1.5)).toThrow(/got `1.5` \(number\)/);
    expect(() => new Pool(Number.NaN)).toThrow(RangeError);
    expect(() => new Pool('3' as never)).toThrow(new TypeError("Expected `capacity` to be an integer >= 1, got `'3'` (string)"));
    expect(() => new Pool(undefined as never)).toThrow(TypeError);
  });

  it('is a Group with a capacity, free slots and full()', async () => {
    const pool = new Pool(2);
    expect(pool).toBeInstanceOf(Group);
    expect(pool.capacity).toBe(2);
    expect(pool.freeCount()).toBe(2);
    await pool.spawn(() => sleep(10));
    expect(pool.freeCount()).toBe(1);
    expect(pool.full()).toBe(false);
    await pool.spawn(() => sleep(10));
    expect(pool.full()).toBe(true);
    await pool.join();
    expect(pool.freeCount()).toBe(2);
  });

  it('spawn resolves to the started greenlet (not its value), at once while a slot is free', async () => {
    const pool = new Pool(1);
    const g = await pool.spawn(async () => 'value');
    expect(g).toBeInstanceOf(Greenlet);
    expect(g.started).toBe(true);
    expect(await g.get()).toBe('value');
  });

  it('counts a new member right after await spawn, even one whose function ends at once (gevent: discarded later, by a link)', async () => {
    const fns: Array<() => unknown> = [
      () => 1,
      async () => 2,
      () => {
        throw new Error('at once');
      },
    ];
    for (const fn of fns) {
      const pool = new Pool(2);
      const g = await pool.spawn(fn);
      expect([pool.size, pool.freeCount(), pool.has(g)]).toEqual([1, 1, true]);
      await g.join();
      expect([pool.size, pool.freeCount(), pool.has(g)]).toEqual([0, 2, false]);
    }
    // The same when the spawn waited for its slot.
    const one = new Pool(1);
    await one.spawn(() => sleep(5));
    const waited = await one.spawn(() => 3);
    expect([one.size, one.freeCount(), one.has(waited)]).toEqual([1, 0, true]);
    expect(await waited.get()).toBe(3);
    expect([one.size, one.freeCount()]).toEqual([0, 1]);
  });

  it('spawn waits for a free slot: never more than capacity run at once', async () => {
    const pool = new Pool(3);
    const m = meter();
    const finishedBefore: number[] = [];
    for (let i = 0; i < 10; i++) {
      await pool.spawn(m.task, i, 10);
      finishedBefore.push(m.done);
    }
    await pool.join();
    expect(m.peak).toBe(3);
    expect(m.started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The first three spawns returned at once; each later one only once a task had finished.
    expect(finishedBefore.slice(0, 3)).toEqual([0, 0, 0]);
    for (let i = 3; i < 10; i++) expect(finishedBefore[i]).toBeGreaterThanOrEqual(i - 2);
  });

  it('greenlets waiting in spawn get slots in the order they began waiting', async () => {
    const pool = new Pool(1);
    const order: number[] = [];
    await pool.spawn(() => sleep(10));
    const spawners = [1, 2, 3].map((n) =>
      spawn(async () => {
        const g = await pool.spawn(async () => {
          order.push(n);
          await sleep(1);
        });
        await g.join();
      }),
    );
    for (const s of spawners) await s.join();
    expect(order).toEqual([1, 2, 3]);
  });

  it('a task that waited for its slot runs in the AsyncLocalStorage context and under the parent of the spawn call', async () => {
    const pool = new Pool(1);
    const als = new AsyncLocalStorage<string>();
    await pool.spawn(() => sleep(10));
    const spawner = spawn(() =>
      als.run('request-7', async () => {
        const g = await pool.spawn(() => ({ store: als.getStore(), parent: getCurrent().parent }));
        return g.get();
      }),
    );
    const seen = await spawner.get();
    expect(seen.store).toBe('request-7');
    expect(seen.parent).toBe(spawner);
  });

  it('a greenlet killed while blocked in spawn leaves no slot taken, and its task never runs', async () => {
    const pool = new Pool(1);
    const holder = await pool.spawn(() => sleep(20));
    let ran = false;
    const spawner = spawn(() => pool.spawn(() => (ran = true)));
    await sleep(0);
    await spawner.kill();
    expect(spawner.value).toBeInstanceOf(GreenletExit);
    await holder.join();
    expect(pool.freeCount()).toBe(1);
    expect(pool.size).toBe(0);
    await sleep(5);
    expect(ran).toBe(false);
    expect(pool.full()).toBe(false);
  });

  it('a Timeout around a blocked spawn throws there and leaves no slot taken', async () => {
    const pool = new Pool(1);
    await pool.spawn(() => sleep(60));
    let ran = false;
    const e = await withTimeout(5, () => pool.spawn(() => (ran = true))).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TimeoutError);
    await pool.join();
    expect(pool.freeCount()).toBe(1);
    const g = await pool.spawn(() => 'next');
    expect(await g.get()).toBe('next');
    expect(ran).toBe(false);
  });

  it('waitAvailable resolves to the free slots (at once if any), without taking one; 0 at its timeout', async () => {
    const pool = new Pool(2);
    expect(await pool.waitAvailable()).toBe(2);
    await pool.spawn(() => sleep(60));
    await pool.spawn(() => sleep(60_000));
    expect(await pool.waitAvailable({ timeout: 5 })).toBe(0);
    expect(await pool.waitAvailable()).toBe(1);
    expect(pool.freeCount()).toBe(1);
    await pool.kill();
  });

  it('a waitAvailable ahead in line does not take the slot from a spawn behind it', async () => {
    const pool = new Pool(1);
    await pool.spawn(() => sleep(10));
    const log: string[] = [];
    const watcher = spawn(async () => log.push(`available ${await pool.waitAvailable()}`));
    const spawner = spawn(async () => {
      const g = await pool.spawn(() => log.push('task'));
      await g.join();
    });
    await watcher.join();
    await spawner.join();
    expect(log).toEqual(['available 1', 'task']);
    expect(pool.freeCount()).toBe(1);
  });

  it('a killed waitAvailable leaves nothing behind', async () => {
    const pool = new Pool(1);
    const holder = await pool.spawn(() => sleep(10));
    const w = spawn(() => pool.waitAvailable());
    await sleep(0);
    await w.kill();
    await holder.join();
    expect(pool.freeCount()).toBe(1);
    expect(String(pool)).toBe('<Pool 0/1>');
  });

  it('add takes a slot for a greenlet; QueueFull when full with block false, or at its timeout', async () => {
    const pool = new Pool(1);
    const a = new Greenlet(() => sleep(10));
    await pool.add(a);
    expect(pool.has(a)).toBe(true);
    const b = new Greenlet(() => 'b');
    await expect(pool.add(b, { block: false })).rejects.toBeInstanceOf(QueueFull);
    await expect(pool.add(b, { timeout: 5 })).rejects.toThrow(/no slot freed within 5 ms/);
    expect(pool.has(b)).toBe(false);
    a.start();
    await pool.add(b);
    expect(pool.has(b)).toBe(true);
    expect(a.dead).toBe(true);
    b.start();
    await pool.join();
    expect(pool.freeCount()).toBe(1);
  });

  it('kill empties the pool and gives every slot back', async () => {
    const pool = new Pool(3);
    for (let i = 0; i < 3; i++) await pool.spawn(() => sleep(60_000));
    const waiting = spawn(() => pool.spawn(() => sleep(60_000)));
    await sleep(0);
    await pool.kill();
    await waiting.join();
    expect(pool.size).toBe(0);
    expect(pool.freeCount()).toBe(3);
  });

  it('leaves no timer, immediate, slot or waiter behind after kills, timeouts and broken loops (own process)', () => {
    const { json } = runFixture('pool-leaks.ts');
    expect(json).toEqual({
      before: json.before,
      after: json.before,
      waitingText: '<Pool 2/2, 3 waiting>',
      pool: '<Pool 0/2>',
      free: 2,
    });
  });

  it('apply from a member runs inline, so a full pool cannot deadlock', async () => {
    const pool = new Pool(1);
    const g = await pool.spawn(() => pool.apply((x: number) => x + 1, [1]));
    expect(await g.get()).toBe(2);
    expect(await pool.apply(async () => 'outside')).toBe('outside');
  });
});

describe('map, imap and imapUnordered', () => {
  it('map resolves to the results in input order, with at most capacity tasks at once', async () => {
    const pool = new Pool(3);
    const m = meter();
    const out = await pool.map((x: number) => m.task(x, (10 - x) * 2), [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(out).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(m.peak).toBe(3);
    expect(pool.size).toBe(0);
  });

  it('imap yields in input order; imapUnordered as tasks finish', async () => {
    const pool = new Pool(4);
    const task = async (ms: number) => {
      await sleep(ms);
      return ms;
    };
    const ordered: number[] = [];
    for await (const v of pool.imap(task, [40, 10, 25, 1])) ordered.push(v);
    expect(ordered).toEqual([40, 10, 25, 1]);
    const unordered: number[] = [];
    for await (const v of pool.imapUnordered(task, [40, 10, 25, 1])) unordered.push(v);
    expect(unordered).toEqual([1, 10, 25, 40]);
  });

  it('reads the input lazily: an item only once a slot is free, never more than capacity ahead of the consumer', async () => {
    for (const method of ['imap', 'imapUnordered'] as const) {
      const pool = new Pool(3);
      let pulled = 0;
      let consumed = 0;
      let worst = 0;
      let finished = 0;
      function* input() {
        for (let i = 0; i < 20; i++) {
          // A slot is free for it: fewer than capacity earlier items unfinished (the worker
          // greenlet that reads it, a member, holds that slot).
          expect(pulled - finished).toBeLessThan(pool.capacity);
          expect(pool.size).toBeLessThanOrEqual(pool.capacity);
          pulled++;
          worst = Math.max(worst, pulled - consumed);
          yield i;
        }
      }
      const out: number[] = [];
      for await (const v of pool[method]((x: number) => sleep(x % 4).then(() => (finished++, x)), input())) {
        consumed++;
        out.push(v);
        if (v % 5 === 0) await sleep(10); // a slow consumer: tasks must not run ahead of it
      }
      expect(out.sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
      expect(worst).toBeLessThanOrEqual(3);
      expect(pulled).toBe(20);
    }
  });

  it('map reads the input only as slots free up', async () => {
    const pool = new Pool(2);
    let pulled = 0;
    const m = meter();
    function* input() {
      for (let i = 0; i < 10; i++) {
        // A slot is free for this item: fewer than capacity tasks are unfinished (the
        // worker greenlet that reads it, a member, holds that slot for it).
        expect(pulled - m.done).toBeLessThan(pool.capacity);
        expect(pool.size).toBeLessThanOrEqual(pool.capacity);
        pulled++;
        yield i;
      }
    }
    expect(await pool.map((x: number) => m.task(x, 2), input())).toEqual([...Array(10).keys()]);
  });

  it('accepts async iterables', async () => {
    const pool = new Pool(2);
    async function* input() {
      for (let i = 0; i < 6; i++) {
        await sleep(1);
        yield i;
      }
    }
    expect(await pool.map(async (x: number) => x * 10, input())).toEqual([0, 10, 20, 30, 40, 50]);
    const seen: number[] = [];
    for await (const v of pool.imapUnordered(async (x: number) => x + 1, input())) seen.push(v);
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('runs tasks in the AsyncLocalStorage context of the call, with the caller as parent', async () => {
    const pool = new Pool(1);
    const als = new AsyncLocalStorage<string>();
    const caller = spawn(() =>
      als.run('ctx', async () => {
        const out: unknown[] = [];
        const it = pool.imap(() => [als.getStore(), getCurrent().parent === caller], [1, 2, 3]);
        await als.run('other', async () => {
          for await (const v of it) out.push(v);
        });
        return out;
      }),
    );
    expect(await caller.get()).toEqual([
      ['ctx', true],
      ['ctx', true],
      ['ctx', true],
    ]);
  });

  it('breaking out closes the input; running tasks finish on their own and free their slots', async () => {
    const pool = new Pool(3);
    let pulled = 0;
    let closed = false;
    function* input() {
      try {
        for (let i = 0; ; i++) {
          pulled++;
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    const m = meter();
    for await (const v of pool.imap((x: number) => m.task(x, x === 0 ? 1 : 20), input())) {
      expect(v).toBe(0);
      break;
    }
    expect(closed).toBe(true);
    const pulledAtBreak = pulled;
    expect(pool.size).toBeGreaterThan(0); // still running, not killed
    await pool.join();
    expect(pulled).toBe(pulledAtBreak);
    expect(m.started.length).toBe(pulledAtBreak);
    expect(pool.freeCount()).toBe(3);
  });

  it('a failing task: its error ends the loop, the input is closed, the other tasks are not killed', async () => {
    const pool = new Pool(2);
    let closed = false;
    function* input() {
      try {
        yield* [1, 2, 3, 4, 5];
      } finally {
        closed = true;
      }
    }
    const boom = new Error('boom');
    const finished: number[] = [];
    const task = async (x: number) => {
      await sleep(x === 2 ? 1 : 20);
      if (x === 2) throw boom;
      finished.push(x);
      return x;
    };
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const v of pool.imapUnordered(task, input())) got.push(v);
      })(),
    ).rejects.toBe(boom);
    expect(got).toEqual([]);
    await sleep(0);
    expect(closed).toBe(true);
    await pool.join();
    expect(finished).toEqual([1]); // 3 was never read: the input stopped at the failure
  });

  it('imap throws a task error in input order, after the results before it', async () => {
    const pool = new Pool(3);
    const boom = new Error('boom');
    const got: number[] = [];
    const task = async (x: number) => {
      await sleep(x === 3 ? 1 : 10);
      if (x === 3) throw boom;
      return x;
    };
    await expect(
      (async () => {
        for await (const v of pool.imap(task, [1, 2, 3, 4])) got.push(v);
      })(),
    ).rejects.toBe(boom);
    expect(got).toEqual([1, 2]);
    await pool.join();
  });

  it('map rejects with the first failure; the other tasks are not killed', async () => {
    const pool = new Pool(2);
    const boom = new Error('boom');
    const done: number[] = [];
    const task = async (x: number) => {
      await sleep(x * 5);
      if (x === 2) throw boom;
      done.push(x);
      return x;
    };
    await expect(pool.map(task, [3, 2, 1])).rejects.toBe(boom);
    expect(done).toEqual([]);
    await pool.join();
    expect(done).toEqual([3]); // 1 was never read: the input stopped at the failure
  });

  it('an input that throws ends the loop with its error, after the results read before it', async () => {
    const pool = new Pool(2);
    const bad = new Error('bad input');
    function* input() {
      yield 1;
      yield 2;
      throw bad;
    }
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const v of pool.imap(async (x: number) => x, input())) got.push(v);
      })(),
    ).rejects.toBe(bad);
    expect(got).toEqual([1, 2]);
    await expect(pool.map(async (x: number) => x, input())).rejects.toBe(bad);
  });

  it('a consumer killed while it waits for a result stops the iteration and closes the input', async () => {
    const pool = new Pool(2);
    let closed = false;
    let pulled = 0;
    function* input() {
      try {
        for (let i = 0; ; i++) {
          pulled++;
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    const consumer = spawn(async () => {
      for await (const v of pool.imap(() => sleep(60_000), input())) void v;
    });
    await sleep(5);
    await consumer.kill();
    await sleep(0);
    expect(closed).toBe(true);
    await pool.kill();
    expect(pulled).toBe(2);
    expect(pool.freeCount()).toBe(2);
  });

  it('killing the pool ends a map or imap with the GreenletExit of its first killed task, not a value', async () => {
    const pool = new Pool(2);
    let pulled = 0;
    function* input() {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield i;
      }
    }
    const mapper = spawn(() => pool.map(() => sleep(60_000), input()));
    await sleep(5);
    await pool.kill();
    await mapper.join();
    expect(mapper.value).toBeInstanceOf(GreenletExit); // thrown by map(), it ended the caller
    expect(pulled).toBe(2);
    expect(pool.freeCount()).toBe(2);
  });

  it('a task that swallows its kill and returns gives its value', async () => {
    const pool = new Pool(1);
    const it = pool.imap(async () => {
      try {
        await sleep(60_000);
      } catch {
        return 'swallowed';
      }
      return 'slept';
    }, [1]);
    const first = it.next();
    await sleep(5);
    await pool.kill();
    expect(await first).toEqual({ done: false, value: 'swallowed' });
  });

  it('a Group maps without a bound: every item starts at once', async () => {
    const group = new Group();
    const m = meter();
    expect(await group.map((x: number) => m.task(x, 5), [1, 2, 3, 4, 5, 6])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(m.peak).toBe(6);
  });

  it('map tasks are members: join waits for them', async () => {
    const pool = new Pool(2);
    const it = pool.imapUnordered((x: number) => sleep(x).then(() => x), [5, 5, 5]);
    expect((await it.next()).value).toBe(5);
    expect(pool.size).toBeGreaterThan(0);
    await pool.join();
    expect(pool.size).toBe(0);
    await it.return?.();
  });

  it('empty inputs give empty results', async () => {
    const pool = new Pool(2);
    expect(await pool.map((x: number) => x, [])).toEqual([]);
    const it = pool.imap((x: number) => x, []);
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('rejects a bad function or input synchronously, quoting it', () => {
    const pool = new Pool(2);
    expect(() => pool.imap((x: number) => x, 42 as never)).toThrow(new TypeError('Expected `iterable` to be an iterable or async iterable, got `42` (number)'));
    expect(() => pool.map('x' as never, [])).toThrow(new TypeError("Expected `fn` to be a function, got `'x'` (string)"));
    expect(() => pool.imapUnordered((x: number) => x, null as never)).toThrow(TypeError);
    expect(() => new Group().map((x: number) => x, {} as never)).toThrow(/got `\{\}` \(object\)/);
  });
});
