import { describe, expect, it } from 'vitest';
import { Event, Greenlet, TimeoutError, iwait, joinAll, killAll, sleep, spawn, wait } from '../src/index.js';

const after = (ms: number, v: unknown) => spawn(async () => {
  await sleep(ms);
  return v;
});
/**
 * Greenlets returning their names that finish in `order`, each released once the one
 * before it has died: a completion order that no timer race on a busy machine can change.
 */
function finishing(names: string[], order: string[]): Greenlet[] {
  const gates = names.map(() => new Event());
  const gs = names.map((n, i) => spawn(async () => {
    await gates[i]!.wait();
    return n;
  }));
  spawn(async () => {
    for (const n of order) {
      const i = names.indexOf(n);
      gates[i]!.set();
      await gs[i]!.join();
    }
  });
  return gs;
}
const fails = (ms: number, err: Error) => spawn(async () => {
  await sleep(ms);
  throw err;
});

describe('joinAll', () => {
  it('resolves to the finished greenlets, in the order they finished', async () => {
    const [a, b, c] = finishing(['a', 'b', 'c'], ['b', 'c', 'a']) as [Greenlet, Greenlet, Greenlet];
    const done = await joinAll([a, b, c]);
    expect(done).toEqual([b, c, a]);
    expect([a, b, c].every((g) => g.dead)).toBe(true);
  });

  it('with count, resolves once that many finished', async () => {
    const gs = [after(40, 1), after(5, 2), after(10, 3)];
    const done = await joinAll(gs, { count: 2 });
    expect(done.map((g) => g.value)).toEqual([2, 3]);
    expect(gs[0]!.dead).toBe(false);
    await killAll(gs);
  });

  it('with timeout, resolves with those finished so far', async () => {
    const gs = [after(5, 1), after(500, 2)];
    const done = await joinAll(gs, { timeout: 30 });
    expect(done).toEqual([gs[0]]);
    await killAll(gs);
  });

  it('with raiseError, throws the first error as soon as one fails', async () => {
    const boom = new Error('boom');
    const slow = after(500, 'slow');
    const t0 = performance.now();
    await expect(joinAll([slow, fails(10, boom)], { raiseError: true })).rejects.toBe(boom);
    expect(performance.now() - t0).toBeLessThan(400);
    await slow.kill();
  });

  it('without raiseError, never throws for a failed greenlet', async () => {
    const g = fails(1, new Error('x'));
    expect(await joinAll([g])).toEqual([g]);
  });

  it('accepts any iterable, and an empty one', async () => {
    const set = new Set([after(1, 1)]);
    expect(await joinAll(set)).toHaveLength(1);
    expect(await joinAll([])).toEqual([]);
  });

  it('leaves no watcher behind after a timeout', async () => {
    const g = after(100, 1);
    await joinAll([g], { timeout: 5 });
    expect((g as unknown as { _w: unknown })._w).toBeNull();
    await g.kill();
  });

  it('bad input throws TypeError/RangeError quoting the value', () => {
    expect(() => joinAll('x' as never)).toThrow(new TypeError("Expected `greenlets` to be an iterable of Greenlet, got `'x'` (string)"));
    expect(() => joinAll([1] as never)).toThrow(/at index 0/);
    expect(() => joinAll([], { count: -1 })).toThrow(RangeError);
    expect(() => joinAll([], { timeout: -1 })).toThrow(RangeError);
  });
});

describe('iwait and wait', () => {
  it('iwait yields in completion order', async () => {
    const [a, b, c] = finishing(['a', 'b', 'c'], ['b', 'c', 'a']) as [Greenlet, Greenlet, Greenlet];
    const order: unknown[] = [];
    for await (const g of iwait([a, b, c])) order.push((g as Greenlet).value);
    expect(order).toEqual(['b', 'c', 'a']);
  });

  it('iwait stops at count and at timeout; breaking out unregisters', async () => {
    const gs = [after(5, 1), after(10, 2), after(500, 3)];
    const seen: unknown[] = [];
    for await (const g of iwait(gs, { timeout: 60 })) seen.push((g as Greenlet).value);
    expect(seen).toEqual([1, 2]);
    for await (const g of iwait([gs[2]!])) {
      void g;
      break;
    }
    await killAll(gs);
    const counted: unknown[] = [];
    for await (const g of iwait([after(1, 'x'), after(2, 'y')], { count: 1 })) counted.push((g as Greenlet).value);
    expect(counted).toEqual(['x']);
  });

  it('wait() with no objects waits for every other greenlet', async () => {
    const gs = [after(5, 1), after(10, 2)];
    await wait();
    expect(gs.every((g) => g.dead)).toBe(true);
  });

  it('wait(objects, { count }) resolves with the ready ones', async () => {
    const gs = [after(50, 1), after(2, 2)];
    const ready = await wait(gs, { count: 1 });
    expect(ready).toEqual([gs[1]]);
    await killAll(gs);
  });
});

describe('killAll', () => {
  it('kills every greenlet and waits for their deaths', async () => {
    const log: number[] = [];
    const gs = [1, 2, 3].map((n) => spawn(async () => {
      try {
        await sleep(1000);
      } finally {
        log.push(n);
      }
    }));
    await sleep(0);
    await killAll(gs);
    expect(gs.every((g) => g.dead)).toBe(true);
    expect(log.sort()).toEqual([1, 2, 3]);
  });

  it('throws TimeoutError if some outlive the timeout', async () => {
    let stop = false;
    const stubborn = spawn(async () => {
      while (!stop) {
        try {
          await sleep(1000);
        } catch {
          /* keeps going */
        }
      }
    });
    await sleep(0);
    await expect(killAll([stubborn], undefined, { timeout: 20 })).rejects.toBeInstanceOf(TimeoutError);
    stop = true;
    await stubborn.kill();
  });

  it('throws synchronously for a bad error', () => {
    expect(() => killAll([], 5 as never)).toThrow(TypeError);
  });
});
