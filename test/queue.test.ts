import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { Queue } from '../src/queue.js';
import { JoinableQueue, LifoQueue, PriorityQueue, SimpleQueue } from '../src/queue-family.js';
import { Channel } from '../src/channel.js';
import {
  Greenlet,
  GreenioError,
  GreenletExit,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  TimeoutError,
  getCurrent,
  joinAll,
  sleep as pause,
  spawn,
  withTimeout,
} from '../src/index.js';
import { opsOf } from '../src/hub/index.js';
import { opText } from '../src/hub/index.js';
import { runFixture } from './run-fixture.js';

const tick = () => pause(0);
const errorOf = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);
const drain = <T>(q: { getNowait(): T; qsize(): number }) => Array.from({ length: q.qsize() }, () => q.getNowait());

describe('Queue: construction and arguments', () => {
  it('is unbounded by default and bounded by maxsize', () => {
    const q = new Queue<number>();
    expect(q.maxsize).toBe(0);
    for (let i = 0; i < 1000; i++) q.putNowait(i);
    expect(q.full()).toBe(false);
    const b = new Queue<number>(2);
    expect([b.maxsize, b.qsize(), b.empty(), b.full()]).toEqual([2, 0, true, false]);
    b.putNowait(1);
    b.putNowait(2);
    expect([b.qsize(), b.empty(), b.full()]).toEqual([2, false, true]);
  });

  it('rejects a maxsize that is not an integer >= 0 with a message quoting it', () => {
    expect(() => new Queue(-1)).toThrow(RangeError);
    expect(() => new Queue(-1)).toThrow('Expected `maxsize` to be an integer >= 0 (0: unbounded), got `-1` (number)');
    expect(() => new Queue(1.5)).toThrow(/got `1.5` \(number\)/);
    expect(() => new Queue(Number.NaN)).toThrow(RangeError);
    expect(() => new Queue('3' as unknown as number)).toThrow(TypeError);
    expect(() => new PriorityQueue(0, 'desc' as unknown as () => number)).toThrow(/Expected `compare` to be a function, got `'desc'` \(string\)/);
  });

  it('throws synchronously for bad options, before touching the queue', () => {
    const q = new Queue<number>();
    expect(() => q.put(1, { timeout: -1 })).toThrow(RangeError);
    expect(() => q.put(1, { timeout: -1 })).toThrow(/Expected `timeout` to be a number of milliseconds >= 0 or undefined, got `-1` \(number\)/);
    expect(() => q.get({ timeout: 'x' as unknown as number })).toThrow(TypeError);
    expect(() => q.get({ timeout: 'x' as unknown as number })).toThrow(/got `'x'` \(string\)/);
    expect(() => q.peek({ block: 'no' as unknown as boolean })).toThrow(/Expected `block` to be a boolean/);
    expect(() => q.get(5 as unknown as undefined)).toThrow(/Expected `options` to be an options object/);
    expect(() => q.shutdown({ immediate: 1 as unknown as boolean })).toThrow(TypeError);
    expect(() => new JoinableQueue().join({ timeout: -5 })).toThrow(RangeError);
    expect(q.qsize()).toBe(0);
    expect(q.isShutdown).toBe(false);
  });
});

describe('Queue: order', () => {
  it('Queue is FIFO, LifoQueue is LIFO', () => {
    const q = new Queue<number>();
    const l = new LifoQueue<number>();
    for (const x of [1, 2, 3]) {
      q.putNowait(x);
      l.putNowait(x);
    }
    expect([q.peekNowait(), l.peekNowait()]).toEqual([1, 3]);
    expect(drain(q)).toEqual([1, 2, 3]);
    expect(drain(l)).toEqual([3, 2, 1]);
  });

  it('keeps FIFO order while its buffer wraps around, grows and shrinks', () => {
    const q = new Queue<number>();
    const model: number[] = [];
    let next = 0;
    // Waves of puts and gets, so the front moves through the buffer as it grows to
    // thousands of slots and shrinks back.
    for (const [puts, gets] of [[5, 3], [20, 10], [3000, 2000], [7, 1000], [100, 50], [0, 60]]) {
      for (let i = 0; i < puts!; i++) {
        q.putNowait(next);
        model.push(next++);
      }
      for (let i = 0; i < gets!; i++) expect(q.getNowait()).toBe(model.shift());
      expect(q.qsize()).toBe(model.length);
    }
    expect(drain(q)).toEqual(model);
  });

  it('a waiting putter’s item enters behind the items already queued', async () => {
    const q = new Queue<string>(2);
    q.putNowait('a');
    q.putNowait('b');
    const p = spawn(() => q.put('c'));
    await tick();
    expect(q.getNowait()).toBe('a');
    expect(q.qsize()).toBe(2); // 'c' moved in when the slot freed
    expect(drain(q)).toEqual(['b', 'c']);
    await p.join();
    expect(p.successful()).toBe(true);
  });

  it('PriorityQueue gives the smallest first: numbers, bigints, strings by code point', () => {
    const nums = new PriorityQueue<number | bigint>();
    for (const x of [5, 1n, -2, 3.5, 10n ** 20n, 2]) nums.putNowait(x);
    expect(drain(nums)).toEqual([-2, 1n, 2, 3.5, 5, 10n ** 20n]);
    const strs = new PriorityQueue<string>();
    // Python orders by code point: U+10000 (a surrogate pair in UTF-16) after U+FFFF.
    for (const s of ['\u{10000}', '\uffff', 'b', 'a', 'ab', '']) strs.putNowait(s);
    expect(drain(strs)).toEqual(['', 'a', 'ab', 'b', '\uffff', '\u{10000}']);
  });

  it('PriorityQueue compares arrays element by element, like Python tuples', () => {
    const q = new PriorityQueue<unknown[]>();
    const job = { name: 'job' };
    for (const t of [[2, 'x'], [1, 'b'], [1, 'a', 0], [1, 'a'], [0, job], [3, job], [2n, 'w']]) q.putNowait(t);
    expect(drain(q)).toEqual([[0, job], [1, 'a'], [1, 'a', 0], [1, 'b'], [2n, 'w'], [2, 'x'], [3, job]]);
    const nested = new PriorityQueue<unknown[]>();
    for (const t of [[[1, 2], 'n'], [[1], 'm'], [[0, 9], 'z']]) nested.putNowait(t);
    expect(drain(nested)).toEqual([[[0, 9], 'z'], [[1], 'm'], [[1, 2], 'n']]);
  });

  it('PriorityQueue gives items that compare equal in the order they were put', () => {
    const q = new PriorityQueue<[number, string]>(0, (a, b) => a[0] - b[0]);
    const items: [number, string][] = [];
    for (let i = 0; i < 50; i++) items.push([i % 3, `item${i}`]);
    for (const it of items) q.putNowait(it);
    const expected = [...items].sort((a, b) => a[0] - b[0]); // Array#sort is stable
    expect(drain(q)).toEqual(expected);
  });

  it('PriorityQueue throws a TypeError quoting both items when they cannot be ordered', () => {
    const q = new PriorityQueue<unknown>();
    q.putNowait(1);
    expect(() => q.putNowait('one')).toThrow(TypeError);
    expect(() => q.putNowait('one')).toThrow(/cannot order `'one'` \(string\) and `1` \(number\)/);
    const t = new PriorityQueue<unknown>();
    t.putNowait([1, { id: 1 }]);
    expect(() => t.putNowait([1, { id: 2 }])).toThrow(/cannot order `\[ 1, \{ id: 2 \} \]` \(array\) and `\[ 1, \{ id: 1 \} \]` \(array\) \(`\{ id: 2 \}` \(object\) and `\{ id: 1 \}` \(object\) cannot be ordered\)/);
    // Nothing changed: the refused items are not in the queues.
    expect(drain(q)).toEqual([1]);
    expect(t.qsize()).toBe(1);
  });

  it('PriorityQueue with a compare function orders anything, without a TypeError', () => {
    const q = new PriorityQueue<{ due: number }>(0, (a, b) => b.due - a.due);
    for (const due of [3, 9, 1]) q.putNowait({ due });
    expect(drain(q).map((x) => x.due)).toEqual([9, 3, 1]);
  });

  it('a compare that throws while taking leaves the PriorityQueue intact', () => {
    let armed = false;
    const q = new PriorityQueue<number>(0, (a, b) => {
      if (armed) throw new Error('compare failed');
      return a - b;
    });
    for (const x of [4, 2, 8, 6, 1, 9, 3]) q.putNowait(x);
    armed = true;
    expect(() => q.getNowait()).toThrow('compare failed');
    expect(() => q.putNowait(0)).toThrow('compare failed');
    armed = false;
    expect(drain(q)).toEqual([1, 2, 3, 4, 6, 8, 9]);
  });

  it('a blocked putter whose item cannot be ordered gets the TypeError; the next putter gets in', async () => {
    const q = new PriorityQueue<unknown>(2);
    q.putNowait(1);
    q.putNowait(2);
    const bad = spawn(() => q.put('x'));
    const good = spawn(() => q.put(3));
    await tick();
    expect(q._waiterCount).toBe(2);
    expect(q.getNowait()).toBe(1); // 'x' cannot be ordered against 2: its putter fails, 3 gets in
    await joinAll([bad, good]);
    expect(bad.exception).toBeInstanceOf(TypeError);
    expect(good.successful()).toBe(true);
    expect(drain(q)).toEqual([2, 3]);
  });
});

describe('Queue: waiting', () => {
  it('get() waits for put(); put() on a full queue waits for get()', async () => {
    const q = new Queue<number>(1);
    const getter = spawn(() => q.get());
    await tick();
    expect(getter.dead).toBe(false);
    await q.put(1);
    expect(await getter.get()).toBe(1);
    q.putNowait(2);
    const putter = spawn(() => q.put(3));
    await tick();
    expect(putter.dead).toBe(false);
    expect(await q.get()).toBe(2);
    await putter.join();
    expect(await q.get()).toBe(3);
  });

  it('serves blocked getters and putters in the order they began waiting', async () => {
    const q = new Queue<number>(1);
    const got: string[] = [];
    const getters = ['a', 'b', 'c'].map((n) => spawn(async () => got.push(`${n}${await q.get()}`)));
    await tick();
    for (const x of [1, 2, 3]) await q.put(x);
    await joinAll(getters);
    expect(got).toEqual(['a1', 'b2', 'c3']);
    q.putNowait(0);
    const putters = [4, 5, 6].map((x) => spawn(() => q.put(x)));
    await tick();
    const out: number[] = [];
    for (let i = 0; i < 4; i++) out.push(await q.get());
    expect(out).toEqual([0, 4, 5, 6]);
    await joinAll(putters);
  });

  it('put() never switches: the woken getter runs later, ahead of greenlets spawned after', async () => {
    const q = new Queue<string>();
    const log: string[] = [];
    const getter = spawn(async () => log.push(`got ${await q.get()}`));
    await tick();
    void q.put('x');
    log.push('after put');
    spawn(() => log.push('spawned after'));
    await getter.join();
    await tick();
    expect(log).toEqual(['after put', 'got x', 'spawned after']);
  });

  it('block: false and the nowait forms fail at once with QueueEmpty / QueueFull', async () => {
    const q = new Queue<number>(1);
    expect(() => q.getNowait()).toThrow(QueueEmpty);
    expect(() => q.peekNowait()).toThrow(QueueEmpty);
    await expect(q.get({ block: false })).rejects.toBeInstanceOf(QueueEmpty);
    await expect(q.peek({ block: false, timeout: 1000 })).rejects.toBeInstanceOf(QueueEmpty);
    await q.put(1, { block: false });
    expect(() => q.putNowait(2)).toThrow(QueueFull);
    const e = await errorOf(q.put(2, { block: false }));
    expect(e).toBeInstanceOf(QueueFull);
    expect((e as QueueFull).code).toBe('GREENIO_QUEUE_FULL');
    expect(q._waiterCount).toBe(0);
  });

  it('timeout turns into QueueEmpty / QueueFull and unregisters the waiter', async () => {
    const q = new Queue<number>(1);
    const t0 = performance.now();
    const e = await errorOf(q.get({ timeout: 20 }));
    expect(e).toBeInstanceOf(QueueEmpty);
    expect((e as QueueEmpty).code).toBe('GREENIO_QUEUE_EMPTY');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(15);
    q.putNowait(1);
    await expect(q.put(2, { timeout: 0 })).rejects.toBeInstanceOf(QueueFull);
    await expect(q.peek({ timeout: 5 })).resolves.toBe(1);
    expect(q._waiterCount).toBe(0);
    expect(drain(q)).toEqual([1]);
  });

  it('an outer Timeout passes through a blocking get unchanged (not QueueEmpty)', async () => {
    const q = new Queue<number>();
    const e = await errorOf(withTimeout(10, () => q.get({ timeout: 1000 })));
    expect(e).toBeInstanceOf(TimeoutError);
    expect(q._waiterCount).toBe(0);
  });

  it('peek() waits for an item and leaves it; a peeker before a getter sees the getter’s item', async () => {
    const q = new Queue<string>();
    const peeker = spawn(() => q.peek());
    const getter = spawn(() => q.get());
    const late = spawn(() => q.peek());
    await tick();
    expect(q._waiterCount).toBe(3);
    await q.put('x');
    expect(await peeker.get()).toBe('x');
    expect(await getter.get()).toBe('x');
    expect(late.dead).toBe(false); // it came after the getter took 'x'
    await q.put('y');
    expect(await late.get()).toBe('y');
    expect(q.qsize()).toBe(1);
  });

  it('a blocked getter shows in run-info as queue.get on its queue', async () => {
    const q = new Queue<number>(3);
    const g = spawn(() => q.get());
    await tick();
    expect(opsOf(g).map(opText)).toEqual(['queue.get Queue maxsize=3 size=0 getters=1 putters=0']);
    expect(String(q)).toBe('<Queue maxsize=3 size=0 getters=1 putters=0>');
    await g.kill();
  });
});

describe('Queue: kill and timeout lose nothing', () => {
  it('a killed getter takes no item: a later put stays in the queue', async () => {
    const q = new Queue<number>();
    const g = spawn(() => q.get());
    await tick();
    await g.kill();
    expect(q._waiterCount).toBe(0);
    await q.put(1);
    expect(drain(q)).toEqual([1]);
  });

  it('a getter handed an item keeps it even if killed before it runs; the kill lands at its next wait', async () => {
    const q = new Queue<number>();
    let got: number | undefined;
    const g = spawn(async () => {
      got = await q.get();
      await pause(1000);
    });
    await tick();
    void q.put(7);
    await g.kill();
    expect(got).toBe(7);
    expect(g.value).toBeInstanceOf(GreenletExit);
    expect(q.qsize()).toBe(0);
  });

  it('a killed or timed-out putter’s item never enters the queue', async () => {
    const q = new Queue<string>(1);
    q.putNowait('a');
    const killed = spawn(() => q.put('killed'));
    const timed = spawn(() => q.put('timed out', { timeout: 5 }));
    const kept = spawn(() => q.put('kept'));
    await tick();
    await killed.kill();
    await timed.join();
    expect(timed.exception).toBeInstanceOf(QueueFull);
    expect(q._waiterCount).toBe(1);
    expect(q.getNowait()).toBe('a');
    await kept.join();
    expect(drain(q)).toEqual(['kept']);
    expect(q._waiterCount).toBe(0);
  });

  it('a putter let in and killed before it runs has its item in the queue', async () => {
    const q = new Queue<string>(1);
    q.putNowait('a');
    const p = spawn(async () => {
      await q.put('b');
      await pause(1000);
    });
    await tick();
    expect(q.getNowait()).toBe('a');
    await p.kill();
    expect(drain(q)).toEqual(['b']);
  });

  it('waiters interrupted in the middle of the line are skipped; the others keep their order', async () => {
    const q = new Queue<number>();
    const got: string[] = [];
    const names = ['a', 'b', 'c', 'd', 'e'];
    const gs = names.map((n) => spawn(async () => got.push(`${n}${await q.get()}`)));
    await tick();
    await gs[1]!.kill();
    await gs[3]!.kill();
    for (const x of [1, 2, 3, 4]) q.putNowait(x);
    await joinAll(gs);
    expect(got).toEqual(['a1', 'c2', 'e3']);
    expect(drain(q)).toEqual([4]);
  });

  it('timed waits leave no timer behind, whether served, timed out, killed or shut down (own process)', () => {
    const { json } = runFixture('queue-timers.ts');
    // Six timed waits, one timer each while pending (the 5 ms one may be over already).
    expect(json.pendingAtCount).toBeGreaterThanOrEqual(5);
    expect(json).toEqual({ before: json.before, during: json.pendingAtCount, pendingAtCount: json.pendingAtCount, after: json.before, waiting: 0, outcomes: ['QueueShutDown', 7, 'QueueEmpty'] });
  });

  it('many timed-out waiters leave no trace behind', async () => {
    const q = new Queue<number>();
    await Promise.all(Array.from({ length: 200 }, () => errorOf(q.get({ timeout: 1 }))));
    expect(q._waiterCount).toBe(0);
    expect(q._getters.ops.length).toBeLessThanOrEqual(16);
    q.putNowait(1);
    expect(await q.get()).toBe(1);
  });
});

describe('Queue: shutdown', () => {
  it('puts fail at once; gets drain what is left, then fail', async () => {
    const q = new Queue<number>();
    q.putNowait(1);
    q.putNowait(2);
    q.shutdown();
    q.shutdown(); // idempotent
    expect(q.isShutdown).toBe(true);
    expect(() => q.putNowait(3)).toThrow(QueueShutDown);
    const e = await errorOf(q.put(3));
    expect(e).toBeInstanceOf(QueueShutDown);
    expect((e as QueueShutDown).code).toBe('GREENIO_QUEUE_SHUT_DOWN');
    expect(await q.peek()).toBe(1);
    expect(await q.get()).toBe(1);
    expect(q.getNowait()).toBe(2);
    await expect(q.get()).rejects.toBeInstanceOf(QueueShutDown);
    expect(() => q.getNowait()).toThrow(QueueShutDown);
    expect(() => q.peekNowait()).toThrow(QueueShutDown);
  });

  it('wakes blocked getters and putters with QueueShutDown; a blocked putter’s item is not put', async () => {
    const empty = new Queue<number>();
    const getter = spawn(() => empty.get());
    const full = new Queue<number>(1);
    full.putNowait(1);
    const putter = spawn(() => full.put(2));
    await tick();
    empty.shutdown();
    full.shutdown();
    await joinAll([getter, putter]);
    expect(getter.exception).toBeInstanceOf(QueueShutDown);
    expect(putter.exception).toBeInstanceOf(QueueShutDown);
    expect(drain(full)).toEqual([1]);
    expect(empty._waiterCount + full._waiterCount).toBe(0);
  });

  it('with immediate, drops the items left (counted done for join)', async () => {
    const q = new JoinableQueue<number>();
    q.putNowait(1);
    q.putNowait(2);
    const joiner = spawn(() => q.join());
    await tick();
    q.shutdown({ immediate: true });
    expect(q.qsize()).toBe(0);
    expect(() => q.getNowait()).toThrow(QueueShutDown);
    expect(await joiner.get()).toBe(true);
    expect(q.unfinishedTasks).toBe(0);
  });

  it('async iteration yields every item in order and ends cleanly at shutdown', async () => {
    const q = new Queue<number>(2);
    const consumer = spawn(async () => {
      const seen: number[] = [];
      for await (const x of q) seen.push(x);
      return seen;
    });
    for (let i = 0; i < 10; i++) await q.put(i);
    q.shutdown();
    expect(await consumer.get()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('killing a greenlet iterating a queue leaves nothing waiting on it', async () => {
    const q = new Queue<number>();
    const g = spawn(async () => {
      for await (const x of q) void x;
    });
    q.putNowait(1);
    await tick();
    expect(q._waiterCount).toBe(1);
    await g.kill();
    expect(q._waiterCount).toBe(0);
    expect(g.value).toBeInstanceOf(GreenletExit);
  });
});

describe('JoinableQueue', () => {
  it('join() resolves true once every item put was marked done', async () => {
    const q = new JoinableQueue<number>();
    expect(await q.join()).toBe(true); // nothing put
    const done: number[] = [];
    spawn(async () => {
      for await (const x of q) {
        await tick();
        done.push(x);
        q.taskDone();
      }
    });
    for (const x of [1, 2, 3]) await q.put(x);
    expect(q.unfinishedTasks).toBe(3);
    expect(await q.join()).toBe(true);
    expect(done).toEqual([1, 2, 3]);
    expect(q.unfinishedTasks).toBe(0);
    q.shutdown();
  });

  it('join({ timeout }) resolves false when tasks are left; a killed joiner leaves nothing registered', async () => {
    const q = new JoinableQueue<number>();
    q.putNowait(1);
    expect(await q.join({ timeout: 10 })).toBe(false);
    const j = spawn(() => q.join());
    await tick();
    expect(q._waiterCount).toBe(1);
    await j.kill();
    expect(q._waiterCount).toBe(0);
    q.getNowait();
    q.taskDone();
    expect(await q.join({ timeout: 10 })).toBe(true);
  });

  it('taskDone() called more times than items put throws GREENIO_TASK_DONE_TOO_MANY', () => {
    const q = new JoinableQueue<number>();
    q.putNowait(1);
    q.taskDone();
    let e: unknown;
    try {
      q.taskDone();
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(GreenioError);
    expect((e as GreenioError).code).toBe('GREENIO_TASK_DONE_TOO_MANY');
    expect(q.unfinishedTasks).toBe(0);
  });

  it('LifoQueue and PriorityQueue are joinable; items handed to waiting getters count too', async () => {
    for (const q of [new LifoQueue<number>(), new PriorityQueue<number>()]) {
      expect(q).toBeInstanceOf(JoinableQueue);
      const g = spawn(() => q.get());
      await tick();
      await q.put(5); // straight to the getter
      expect(await g.get()).toBe(5);
      expect(q.unfinishedTasks).toBe(1);
      q.taskDone();
      expect(await q.join()).toBe(true);
    }
  });
});

describe('Channel', () => {
  it('put() waits until a getter takes the item', async () => {
    const ch = new Channel<string>();
    expect([ch.qsize(), ch.empty(), ch.full()]).toEqual([0, true, true]);
    const log: string[] = [];
    const putter = spawn(async () => {
      await ch.put('x');
      log.push('put done');
    });
    await pause(5);
    expect(log).toEqual([]);
    expect(ch.balance).toBe(1);
    expect(await ch.get()).toBe('x');
    await putter.join();
    expect(log).toEqual(['put done']);
    expect(ch.balance).toBe(0);
  });

  it('a put to a waiting getter hands the item over at once; getters are served in order', async () => {
    const ch = new Channel<number>();
    const got: string[] = [];
    const gs = ['a', 'b'].map((n) => spawn(async () => got.push(`${n}${await ch.get()}`)));
    await tick();
    expect(ch.balance).toBe(-2);
    ch.putNowait(1);
    await ch.put(2);
    await joinAll(gs);
    expect(got).toEqual(['a1', 'b2']);
  });

  it('nowait, block: false and timeout forms fail with QueueFull / QueueEmpty', async () => {
    const ch = new Channel<number>();
    expect(() => ch.putNowait(1)).toThrow(QueueFull);
    expect(() => ch.getNowait()).toThrow(QueueEmpty);
    await expect(ch.put(1, { block: false })).rejects.toBeInstanceOf(QueueFull);
    await expect(ch.get({ block: false })).rejects.toBeInstanceOf(QueueEmpty);
    await expect(ch.put(1, { timeout: 5 })).rejects.toBeInstanceOf(QueueFull);
    await expect(ch.get({ timeout: 5 })).rejects.toBeInstanceOf(QueueEmpty);
    expect(() => ch.put(1, { timeout: -1 })).toThrow(RangeError);
    expect(ch._waiterCount).toBe(0);
  });

  it('a killed or timed-out putter’s item is never delivered; a killed getter takes nothing', async () => {
    const ch = new Channel<string>();
    const killed = spawn(() => ch.put('killed'));
    const timed = spawn(() => ch.put('timed out', { timeout: 5 }));
    const kept = spawn(() => ch.put('kept'));
    await tick();
    await killed.kill();
    await timed.join();
    expect(ch.getNowait()).toBe('kept');
    await kept.join();
    expect(kept.successful()).toBe(true);
    const getter = spawn(() => ch.get());
    await tick();
    await getter.kill();
    expect(() => ch.putNowait('nobody')).toThrow(QueueFull);
    expect(ch._waiterCount).toBe(0);
  });

  it('shutdown wakes both sides with QueueShutDown and ends async iteration', async () => {
    const ch = new Channel<number>();
    const consumer = spawn(async () => {
      const seen: number[] = [];
      for await (const x of ch) seen.push(x);
      return seen;
    });
    for (const x of [1, 2, 3]) await ch.put(x);
    await tick();
    ch.shutdown();
    expect(await consumer.get()).toEqual([1, 2, 3]);
    const other = new Channel<number>();
    const putter = spawn(() => other.put(4));
    await tick();
    other.shutdown();
    await putter.join();
    expect(other._waiterCount).toBe(0);
    expect(putter.exception).toBeInstanceOf(QueueShutDown);
    await expect(ch.put(5)).rejects.toBeInstanceOf(QueueShutDown);
    expect(() => ch.getNowait()).toThrow(QueueShutDown);
    expect(ch.isShutdown).toBe(true);
    expect(String(ch)).toBe('<Channel getters=0 putters=0>');
  });
});

describe('SimpleQueue', () => {
  it('is an unbounded FIFO queue with put and get only', async () => {
    const q = new SimpleQueue<number>();
    for (let i = 0; i < 100; i++) await q.put(i);
    expect(q.qsize()).toBe(100);
    const out: number[] = [];
    while (!q.empty()) out.push(await q.get());
    expect(out).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(() => q.getNowait()).toThrow(QueueEmpty);
    await expect(q.get({ timeout: 1 })).rejects.toBeInstanceOf(QueueEmpty);
    const g = spawn(() => q.get());
    await tick();
    q.putNowait(7);
    expect(await g.get()).toBe(7);
    expect(q._waiterCount).toBe(0);
    expect('peek' in q || 'shutdown' in q || 'maxsize' in q).toBe(false);
  });
});

describe('what passes through a queue', () => {
  it('a greenlet passes through a queue and a channel unchanged (it is not a thenable)', async () => {
    const worker = spawn(async () => {
      await pause(5);
      return 'result';
    });
    const q = new Queue<Greenlet<string>>();
    await q.put(worker);
    const got = await q.get();
    expect(got).toBe(worker);
    const ch = new Channel<Greenlet<string>>();
    const c = spawn(() => ch.get());
    await tick();
    await ch.put(worker);
    expect(await c.get()).toBe(worker);
    expect(await got.get()).toBe('result');
  });

  it('a getter resumes in its own greenlet and AsyncLocalStorage context, not the putter’s', async () => {
    const als = new AsyncLocalStorage<string>();
    const q = new Queue<string>();
    const getter = als.run('getter', () =>
      spawn(async () => {
        const item = await q.get();
        return [item, als.getStore(), getCurrent()] as const;
      }),
    );
    await tick();
    const putter = als.run('putter', () => spawn(() => q.put('x')));
    const [item, store, current] = await getter.get();
    await putter.join();
    expect([item, store, current]).toEqual(['x', 'getter', getter]);
  });
});
