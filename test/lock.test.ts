import { describe, expect, it } from 'vitest';
import { BoundedSemaphore, Lock } from '../src/lock.js';
import { Semaphore } from '../src/semaphore.js';
import { RLock } from '../src/rlock.js';
import { GreenioError, GreenletExit } from '../src/errors.js';
import { TimeoutError } from '../src/timeout.js';
import { getCurrent, spawn, type Greenlet } from '../src/greenlet.js';
import * as hub from '../src/hub/index.js';
import { opText } from '../src/hub/index.js';
import { sleep } from '../src/sleep.js';
import { Timeout } from '../src/timeout.js';
import { withTimeout } from '../src/with-timeout.js';
import { joinAll } from '../src/wait.js';
import { stats } from '../src/instrument/stats.js';

/** Acquire ops in flight in the whole process: 0 means no waiter is left registered. */
const inFlight = () => hub.kind('semaphore.acquire').active;

/** Spawn greenlets that each take `lock`, log their name, and give it back. */
function contenders(lock: Semaphore | RLock, names: string[], log: string[]): Greenlet[] {
  return names.map((name) =>
    spawn(async () => {
      await lock.acquire();
      log.push(name);
      await sleep(0);
      lock.release();
    }),
  );
}

describe('Semaphore', () => {
  it('starts with value permits (default 1); acquire takes one, release gives it back', async () => {
    expect(new Semaphore().counter).toBe(1);
    const sem = new Semaphore(2);
    expect(await sem.acquire()).toBe(true);
    expect(sem.counter).toBe(1);
    expect(sem.locked()).toBe(false);
    expect(await sem.acquire()).toBe(true);
    expect(sem.counter).toBe(0);
    expect(sem.locked()).toBe(true);
    sem.release();
    sem.release();
    expect(sem.counter).toBe(2);
  });

  it('serves waiters in the order they began waiting', async () => {
    const sem = new Semaphore(1);
    await sem.acquire();
    const log: string[] = [];
    const gs = contenders(sem, ['a', 'b', 'c', 'd'], log);
    await sleep(0);
    expect(String(sem)).toBe('<Semaphore counter=0, 4 waiting>');
    sem.release();
    await joinAll(gs);
    expect(log).toEqual(['a', 'b', 'c', 'd']);
    expect(sem.counter).toBe(1);
  });

  it('hands a released permit to the first waiter: a later acquirer cannot barge ahead', async () => {
    const sem = new Semaphore(1);
    await sem.acquire();
    const waiter = spawn(() => sem.acquire());
    await sleep(0);
    sem.release();
    expect(sem.counter).toBe(0); // the permit went to the waiter, not back to the counter
    expect(await sem.acquire({ block: false })).toBe(false);
    expect(await waiter.get()).toBe(true);
    sem.release();
    expect(sem.counter).toBe(1);
  });

  it('release() never switches: the waiter runs after the releaser waits', async () => {
    const sem = new Semaphore(0);
    const log: string[] = [];
    const g = spawn(async () => {
      await sem.acquire();
      log.push('acquired');
    });
    await sleep(0);
    sem.release();
    log.push('released');
    expect(log).toEqual(['released']);
    await g.join();
    expect(log).toEqual(['released', 'acquired']);
  });

  it('acquire({ block: false }) resolves false at once when no permit is free', async () => {
    const sem = new Semaphore(1);
    expect(await sem.acquire({ block: false })).toBe(true);
    expect(await sem.acquire({ block: false })).toBe(false);
    expect(sem.counter).toBe(0);
    expect(inFlight()).toBe(0);
  });

  it('acquire({ timeout }) resolves false on timeout, counter unchanged and no waiter left', async () => {
    const sem = new Semaphore(0);
    const t0 = performance.now();
    expect(await sem.acquire({ timeout: 20 })).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(15);
    expect(sem.counter).toBe(0);
    expect(String(sem)).toBe('<Semaphore counter=0>');
    expect(inFlight()).toBe(0);
    sem.release();
    expect(sem.counter).toBe(1); // nobody was left to hand it to
  });

  it('acquire({ timeout }) resolves true when a permit comes first', async () => {
    const sem = new Semaphore(0);
    setTimeout(() => sem.release(), 5);
    expect(await sem.acquire({ timeout: 5_000 })).toBe(true);
    expect(sem.counter).toBe(0);
  });

  it('killed waiters leave the counter as if they never waited, and the queue empty', async () => {
    const sem = new Semaphore(1);
    await sem.acquire();
    const victims = [1, 2, 3].map(() => spawn(() => sem.acquire()));
    const log: string[] = [];
    const [survivor] = contenders(sem, ['survivor'], log);
    await sleep(0);
    await Promise.all(victims.map((g) => g.kill()));
    expect(victims.every((g) => (g.value as unknown) instanceof GreenletExit)).toBe(true);
    expect(String(sem)).toBe('<Semaphore counter=0, 1 waiting>');
    sem.release(); // goes to the survivor, not to a dead waiter
    await survivor!.join();
    expect(log).toEqual(['survivor']);
    expect(sem.counter).toBe(1);
    expect(inFlight()).toBe(0);
  });

  it('an outer Timeout passes through acquire(), leaving the counter and queue untouched', async () => {
    const sem = new Semaphore(0);
    const g = spawn(async () => {
      const t = Timeout.startNew(10);
      try {
        return await sem.acquire({ timeout: 5_000 });
      } catch (e) {
        return (e as TimeoutError).timeout === t ? 'outer timeout' : e;
      } finally {
        t.cancel();
      }
    });
    expect(await g.get()).toBe('outer timeout');
    await expect(withTimeout(5, () => sem.acquire())).rejects.toBeInstanceOf(TimeoutError);
    expect(sem.counter).toBe(0);
    expect(String(sem)).toBe('<Semaphore counter=0>');
    expect(inFlight()).toBe(0);
  });

  it('a waiter killed after the permit was handed to it keeps it, and gives it back as it unwinds', async () => {
    const sem = new Semaphore(1);
    await sem.acquire();
    const log: unknown[] = [];
    const g = spawn(async () => {
      const got = await sem.acquire();
      log.push(got);
      try {
        await sleep(1_000);
      } finally {
        sem.release();
      }
    });
    await sleep(0);
    sem.release(); // hands the permit to g: settled, final
    const killed = g.kill();
    await killed;
    expect(log).toEqual([true]); // acquire() resolved; the kill landed at the next wait
    expect(g.value).toBeInstanceOf(GreenletExit);
    expect(sem.counter).toBe(1); // not lost
    expect(inFlight()).toBe(0);
  });

  it('with(fn) returns what fn returns and releases, also when fn throws', async () => {
    const sem = new BoundedSemaphore(1);
    expect(await sem.with(async () => {
      expect(sem.counter).toBe(0);
      await sleep(1);
      return 'done';
    })).toBe('done');
    expect(sem.counter).toBe(1);
    const boom = new Error('boom');
    await expect(sem.with(() => {
      throw boom;
    })).rejects.toBe(boom);
    expect(sem.counter).toBe(1);
  });

  it('with(fn) interrupted while waiting releases nothing it did not take', async () => {
    const sem = new BoundedSemaphore(1);
    await sem.acquire();
    let ran = false;
    const g = spawn(() => sem.with(() => {
      ran = true;
    }));
    await sleep(0);
    await g.kill();
    expect(ran).toBe(false);
    expect(sem.counter).toBe(0); // still held by main only
    sem.release();
    expect(sem.counter).toBe(1);
  });

  it('keeps at most value holders at once', async () => {
    const sem = new Semaphore(3);
    let holders = 0;
    let most = 0;
    const gs = Array.from({ length: 20 }, () => spawn(() => sem.with(async () => {
      most = Math.max(most, ++holders);
      await sleep(1);
      holders--;
    })));
    await joinAll(gs);
    expect(most).toBe(3);
    expect(sem.counter).toBe(3);
  });

  it('Semaphore(0) blocks until a release; an unbounded semaphore may be released past its start', async () => {
    const sem = new Semaphore(0);
    expect(await sem.acquire({ block: false })).toBe(false);
    sem.release();
    sem.release();
    expect(sem.counter).toBe(2);
  });

  it('names the wait for run-info: kind semaphore.acquire, detail the semaphore', async () => {
    const sem = new BoundedSemaphore(1);
    await sem.acquire();
    const g = spawn(() => sem.acquire());
    await sleep(0);
    const ops = hub.opsOf(g);
    expect(ops.map((op) => [op.kind.name, hub.detailOwner(op.detail)])).toEqual([['semaphore.acquire', sem]]);
    expect(opText(ops[0]!)).toBe('semaphore.acquire <BoundedSemaphore counter=0, 1 waiting>');
    sem.release();
    await g.join();
    sem.release();
  });

  it('a Lock\'s and a counting semaphore\'s waits are one kind in stats, counted together; handed-over ops serve later waits as fresh ones', async () => {
    const before = stats().io['semaphore.acquire']?.count ?? 0;
    const lock = new Lock();
    const sem = new Semaphore(2);
    let waits = 0;
    const cycles = async (l: Semaphore): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        if (l.locked()) waits++; // this acquire waits
        await l.acquire();
        await sleep(0);
        l.release();
      }
    };
    const gs = [...Array.from({ length: 4 }, () => spawn(() => cycles(lock))), ...Array.from({ length: 5 }, () => spawn(() => cycles(sem)))];
    const seen: string[] = [];
    for (let turn = 0; turn < 6; turn++) {
      await sleep(0);
      // What waits now, as run-info names it, and the kind's active count agree.
      const parked = gs.flatMap((g) => hub.opsOf(g).filter((op) => !op.settled && op.kind.name === 'semaphore.acquire'));
      expect(stats().io['semaphore.acquire']!.active).toBe(parked.length);
      for (const op of parked) seen.push(opText(op).replace(/\d+ waiting/, 'n waiting'));
    }
    await joinAll(gs, { raiseError: true });
    const after = stats().io['semaphore.acquire']!;
    expect(waits).toBeGreaterThan(6);
    expect(after.count - before).toBe(waits);
    expect(after.active).toBe(0);
    expect(new Set(seen)).toEqual(new Set(['semaphore.acquire <Lock counter=0, n waiting>', 'semaphore.acquire <Semaphore counter=0, n waiting>']));
    expect([lock.locked(), sem.counter, sem.holders()]).toEqual([false, 2, []]);
  });

  it('bad input throws TypeError/RangeError quoting the value', () => {
    expect(() => new Semaphore(-1)).toThrow(new RangeError('Expected `value` to be an integer >= 0, got `-1` (number)'));
    expect(() => new Semaphore(1.5)).toThrow(new RangeError('Expected `value` to be an integer >= 0, got `1.5` (number)'));
    expect(() => new Semaphore('2' as never)).toThrow(new TypeError("Expected `value` to be an integer >= 0, got `'2'` (string)"));
    expect(() => new BoundedSemaphore(Infinity)).toThrow(RangeError);
    const sem = new Semaphore(1);
    expect(() => sem.acquire({ timeout: -1 })).toThrow(new RangeError('Expected `timeout` to be a number of milliseconds >= 0 or undefined, got `-1` (number)'));
    expect(() => sem.acquire({ block: 'yes' } as never)).toThrow(TypeError);
    expect(() => sem.acquire(5 as never)).toThrow(TypeError);
    expect(() => sem.with(3 as never)).toThrow(new TypeError('Expected `fn` to be a function, got `3` (number)'));
    expect(sem.counter).toBe(1); // nothing taken by a refused call
  });
});

describe('BoundedSemaphore and Lock', () => {
  it('BoundedSemaphore: a release past the initial value throws GREENIO_OVER_RELEASE', async () => {
    const sem = new BoundedSemaphore(2);
    await sem.acquire();
    sem.release();
    let e: unknown;
    try {
      sem.release();
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(GreenioError);
    expect((e as GreenioError).code).toBe('GREENIO_OVER_RELEASE');
    expect((e as Error).message).toBe('BoundedSemaphore released too many times (initial value 2)');
    expect(sem.counter).toBe(2);
  });

  it('Lock is a BoundedSemaphore(1): one holder at a time, FIFO, over-release throws', async () => {
    const lock = new Lock();
    expect(lock).toBeInstanceOf(BoundedSemaphore);
    expect(lock.counter).toBe(1);
    await lock.acquire();
    const log: string[] = [];
    const gs = contenders(lock, ['x', 'y'], log);
    await sleep(0);
    lock.release();
    await joinAll(gs);
    expect(log).toEqual(['x', 'y']);
    expect(() => lock.release()).toThrow(expect.objectContaining({ code: 'GREENIO_OVER_RELEASE' }));
    expect(String(lock)).toBe('<Lock counter=1>');
  });
});

describe('RLock', () => {
  it('re-entry counts: the owner acquires again, and frees it with as many releases', async () => {
    const lock = new RLock();
    expect([lock.locked(), lock.owner, lock.count]).toEqual([false, null, 0]);
    const g = spawn(async () => {
      const me = getCurrent();
      await lock.acquire();
      await lock.acquire();
      expect(await lock.acquire({ block: false })).toBe(true);
      const held = [lock.owner === me, lock.count];
      lock.release();
      lock.release();
      const stillHeld = [lock.locked(), lock.count];
      lock.release();
      return [held, stillHeld, lock.locked(), lock.owner];
    });
    expect(await g.get()).toEqual([[true, 3], [true, 1], false, null]);
  });

  it('another greenlet waits until the last release; waiters are served FIFO', async () => {
    const lock = new RLock();
    const log: string[] = [];
    const holder = spawn(async () => {
      await lock.acquire();
      await lock.acquire();
      await sleep(5);
      lock.release();
      log.push('holder: one release');
      await sleep(5);
      lock.release();
      log.push('holder: free');
    });
    await sleep(0);
    const gs = contenders(lock, ['a', 'b', 'c'], log);
    await joinAll([holder, ...gs]);
    expect(log).toEqual(['holder: one release', 'holder: free', 'a', 'b', 'c']);
    expect(lock.locked()).toBe(false);
  });

  it('release() by a greenlet that does not own it throws GREENIO_NOT_OWNER', async () => {
    const lock = new RLock();
    expect(() => lock.release()).toThrow(expect.objectContaining({ code: 'GREENIO_NOT_OWNER' }));
    const owner = spawn(async () => {
      await lock.acquire();
      await sleep(20);
      lock.release();
    });
    owner.name = 'owner';
    await sleep(0);
    let e: unknown;
    try {
      lock.release();
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(GreenioError);
    expect((e as GreenioError).code).toBe('GREENIO_NOT_OWNER');
    expect((e as Error).message).toBe('cannot release an RLock main does not hold: it is held by owner');
    expect(lock.count).toBe(1);
    await owner.join();
    expect(owner.successful()).toBe(true);
  });

  it('passes ownership to the first waiter at release time, before it runs', async () => {
    const lock = new RLock();
    await lock.acquire();
    const g = spawn(() => lock.acquire());
    await sleep(0);
    lock.release();
    expect(lock.owner).toBe(g);
    expect(lock.count).toBe(1);
    expect(await lock.acquire({ block: false })).toBe(false); // main no longer owns it
    expect(await g.get()).toBe(true);
  });

  it('block: false, timeout and kill of waiters leave it held by its owner, with no waiter', async () => {
    const lock = new RLock();
    await lock.acquire();
    const other = spawn(async () => [await lock.acquire({ block: false }), await lock.acquire({ timeout: 10 })]);
    expect(await other.get()).toEqual([false, false]);
    const victim = spawn(() => lock.acquire());
    await sleep(0);
    await victim.kill();
    expect(String(lock)).toBe('<RLock owned by main x1>');
    expect(inFlight()).toBe(0);
    lock.release();
    expect(lock.locked()).toBe(false);
  });

  it('with(fn) re-enters and releases however fn ends', async () => {
    const lock = new RLock();
    const g = spawn(() => lock.with(() => lock.with(async () => {
      await sleep(1);
      return lock.count;
    })));
    expect(await g.get()).toBe(2);
    expect(lock.locked()).toBe(false);
    const boom = new Error('boom');
    await expect(lock.with(() => {
      throw boom;
    })).rejects.toBe(boom);
    expect(lock.locked()).toBe(false);
  });

  it('bad input throws TypeError/RangeError', () => {
    const lock = new RLock();
    expect(() => lock.acquire({ timeout: -1 })).toThrow(RangeError);
    expect(() => lock.acquire({ timeout: 'x' } as never)).toThrow(TypeError);
    expect(() => lock.with(null as never)).toThrow(TypeError);
    expect(lock.locked()).toBe(false);
  });
});

describe('Semaphore holders (run-info and ps read them)', () => {
  it('a holder that is not the oldest hands its own permit to a waiter: it leaves the list, the waiter is listed last', async () => {
    const sem = new Semaphore(3);
    const go: Array<() => void> = [];
    const gs = Array.from({ length: 3 }, () => spawn(async () => {
      await sem.acquire();
      await new Promise<void>((r) => go.push(r));
      sem.release();
    }));
    await sleep(5);
    const waiter = spawn(() => sem.acquire());
    await sleep(5);
    const ids = (): number[] => sem.holders().map((h) => h.greenlet.id);
    expect(ids()).toEqual(gs.map((g) => g.id));
    go[1]!(); // the middle holder releases, a waiter is there
    await gs[1]!.join();
    expect(ids()).toEqual([gs[0]!.id, gs[2]!.id, waiter.id]);
    expect(sem.heldBy(gs[1]!)).toBe(false);
    expect(sem.heldBy(gs[0]!)).toBe(true);
    expect(sem.counter).toBe(0);
    go[0]!();
    go[2]!();
    await joinAll([gs[0]!, gs[2]!, waiter]);
    expect(ids()).toEqual([waiter.id]);
  });

  it('hands a permit to a waiter through a full ring: the oldest goes, the waiter is listed last', async () => {
    const sem = new Semaphore(9); // one first holder and a ring of 8 others, full
    const gs = Array.from({ length: 9 }, () => spawn(() => sem.acquire().then(() => sleep(10_000))));
    await sleep(5);
    const waiters = [spawn(() => sem.acquire()), spawn(() => sem.acquire())];
    await sleep(5);
    const ids = (): number[] => sem.holders().map((h) => h.greenlet.id);
    expect(ids()).toEqual(gs.map((g) => g.id));
    sem.release();
    sem.release();
    expect(ids()).toEqual([...gs.slice(2), ...waiters].map((g) => g.id));
    const since = sem.holders().map((h) => h.since);
    expect(since).toEqual([...since].sort((a, b) => a - b));
    expect(sem.counter).toBe(0);
    for (let i = 0; i < 9; i++) sem.release();
    expect(ids()).toEqual([]);
    expect(sem.counter).toBe(9);
    for (const g of [...gs, ...waiters]) g.kill();
    await joinAll([...gs, ...waiters]);
  });

  it('lists each holder oldest first; a release gives back the releaser\'s own permit, else the oldest', async () => {
    const sem = new Semaphore(20);
    const go = new Map<number, () => void>();
    // 12 holders: more than the first ring of 8 extra holders, so it grows while held.
    const gs = Array.from({ length: 12 }, () =>
      spawn(async () => {
        await sem.acquire();
        await new Promise<void>((r) => go.set(getCurrent().id, r));
        sem.release();
        await sleep(10_000);
      }),
    );
    await sleep(5);
    const ids = (): number[] => sem.holders().map((h) => h.greenlet.id);
    const all = gs.map((g) => g.id);
    expect(ids()).toEqual(all);
    const since = sem.holders().map((h) => h.since);
    expect(since).toEqual([...since].sort((a, b) => a - b));
    // Out of order: one in the middle, the newest, then the oldest give back their own.
    for (const k of [5, 11, 0]) {
      go.get(all[k]!)!();
      await sleep(1);
      expect(sem.heldBy(gs[k]!)).toBe(false);
    }
    const left = all.filter((_, k) => ![5, 11, 0].includes(k));
    expect(ids()).toEqual(left);
    expect(sem.counter).toBe(20 - left.length);
    // main holds none: the oldest permit goes back.
    sem.release();
    expect(ids()).toEqual(left.slice(1));
    // Taken again after the ring wrapped: appended after the others.
    await sem.acquire();
    expect(ids()).toEqual([...left.slice(1), 0]);
    expect(sem.heldBy(getCurrent())).toBe(true);
    sem.release(); // main's own, the newest
    expect(ids()).toEqual(left.slice(1));
    for (const g of gs) g.kill();
    await joinAll(gs);
  });
});
