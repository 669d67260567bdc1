import { describe, expect, it, vi } from 'vitest';
import { Event } from '../src/event.js';
import { AsyncResult } from '../src/async-result.js';
import { GreenletExit } from '../src/errors.js';
import { TimeoutError } from '../src/timeout.js';
import { getCurrent, spawn, type Greenlet } from '../src/greenlet.js';
import * as hub from '../src/hub/index.js';
import { opText } from '../src/hub/index.js';
import { targetOwner } from '../src/instrument/leaks.js';
import { sleep } from '../src/sleep.js';
import { Timeout } from '../src/timeout.js';
import { withTimeout } from '../src/with-timeout.js';
import { iwait, joinAll, wait } from '../src/wait.js';

/** Ops of `kind` in flight in the whole process: 0 means no wait is left behind. */
const inFlight = (kind: string) => hub.kind(kind).active;

/** Spawn `n` greenlets that each wait on `fn` and log their number once it returns. */
function waiters<T>(n: number, fn: () => Promise<T>, log: Array<[number, T]>): Greenlet[] {
  return Array.from({ length: n }, (_, i) =>
    spawn(async () => {
      log.push([i, await fn()]);
    }),
  );
}

describe('Event', () => {
  it('starts clear; set() and clear() move the flag; ready() is isSet()', () => {
    const ev = new Event();
    expect(ev.isSet()).toBe(false);
    expect(ev.ready()).toBe(false);
    ev.set();
    expect(ev.isSet()).toBe(true);
    expect(ev.ready()).toBe(true);
    ev.set(); // no-op
    ev.clear();
    expect(ev.isSet()).toBe(false);
  });

  it('wait() resolves true at once when already set', async () => {
    const ev = new Event();
    ev.set();
    expect(await ev.wait()).toBe(true);
    expect(await ev.wait(0)).toBe(true);
    expect(inFlight('event.wait')).toBe(0);
  });

  it('set() wakes every waiter, in the order they began waiting', async () => {
    const ev = new Event();
    const log: Array<[number, boolean]> = [];
    const gs = waiters(5, () => ev.wait(), log);
    await sleep(0);
    expect(String(ev)).toBe('<Event clear, 5 waiting>');
    ev.set();
    await joinAll(gs);
    expect(log).toEqual([0, 1, 2, 3, 4].map((i) => [i, true]));
    expect(String(ev)).toBe('<Event set>');
  });

  it('set() never runs a waiter inside it: waiters run once the caller waits', async () => {
    const ev = new Event();
    const log: string[] = [];
    const g = spawn(async () => {
      await ev.wait();
      log.push('waiter');
    });
    await sleep(0);
    ev.set();
    log.push('after set');
    expect(log).toEqual(['after set']);
    await g.join();
    expect(log).toEqual(['after set', 'waiter']);
  });

  it('woken waiters run ahead of greenlets spawned after the wake-up', async () => {
    const ev = new Event();
    const log: string[] = [];
    const gs = [1, 2].map((n) => spawn(async () => {
      await ev.wait();
      log.push(`waiter ${n}`);
    }));
    await sleep(0);
    ev.set();
    const late = spawn(() => log.push('spawned later'));
    await joinAll([...gs, late]);
    expect(log).toEqual(['waiter 1', 'waiter 2', 'spawned later']);
  });

  it('wait(timeout) resolves false on timeout and leaves no waiter behind', async () => {
    const ev = new Event();
    const t0 = performance.now();
    expect(await ev.wait(20)).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(15);
    expect(String(ev)).toBe('<Event clear>');
    expect(inFlight('event.wait')).toBe(0);
  });

  it('wait(timeout) resolves true when set() comes first', async () => {
    const ev = new Event();
    setTimeout(() => ev.set(), 5);
    expect(await ev.wait(5_000)).toBe(true);
  });

  it('a waiter woken by set() gets true even if the flag was cleared before it ran', async () => {
    const ev = new Event();
    const log: Array<[number, boolean]> = [];
    const gs = waiters(2, () => ev.wait(1_000), log);
    await sleep(0);
    ev.set();
    ev.clear();
    await joinAll(gs);
    expect(log).toEqual([[0, true], [1, true]]);
    expect(ev.isSet()).toBe(false);
  });

  it('an outer Timeout passes through wait() instead of turning into false', async () => {
    const ev = new Event();
    const e = await withTimeout(10, () => ev.wait(5_000)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TimeoutError);
    expect((e as TimeoutError).timeout?.ms).toBe(10);
    expect(String(ev)).toBe('<Event clear>');
    expect(inFlight('event.wait')).toBe(0);
  });

  it('a killed waiter unwinds and leaves; set() then wakes only the others', async () => {
    const ev = new Event();
    let cleaned = false;
    const victim = spawn(async () => {
      try {
        await ev.wait();
      } finally {
        cleaned = true;
      }
    });
    const log: Array<[number, boolean]> = [];
    const others = waiters(2, () => ev.wait(), log);
    await sleep(0);
    await victim.kill();
    expect(cleaned).toBe(true);
    expect(victim.value).toBeInstanceOf(GreenletExit);
    expect(String(ev)).toBe('<Event clear, 2 waiting>');
    ev.set();
    await joinAll(others);
    expect(log).toEqual([[0, true], [1, true]]);
    expect(inFlight('event.wait')).toBe(0);
  });

  it('is a waitable: wait() and iwait() accept it, and leave no watcher on timeout', async () => {
    const ev = new Event();
    expect(await wait([ev], { timeout: 5 })).toEqual([]);
    expect(String(ev)).toBe('<Event clear>');
    setTimeout(() => ev.set(), 5);
    expect(await wait([ev])).toEqual([ev]);
    const seen: unknown[] = [];
    for await (const x of iwait([ev])) seen.push(x);
    expect(seen).toEqual([ev]);
  });

  it('wakes blocked waits and wait() watchers together, in the order they came', async () => {
    const ev = new Event();
    const log: string[] = [];
    const a = spawn(async () => {
      await ev.wait();
      log.push('a: event.wait');
    });
    await sleep(0);
    const b = spawn(async () => {
      await wait([ev]);
      log.push('b: wait([ev])');
    });
    await sleep(0);
    const c = spawn(async () => {
      await ev.wait();
      log.push('c: event.wait');
    });
    await sleep(0);
    ev.set();
    await joinAll([a, b, c]);
    expect(log).toEqual(['a: event.wait', 'b: wait([ev])', 'c: event.wait']);
  });

  it('works outside any greenlet, in the main greenlet', async () => {
    const ev = new Event();
    setTimeout(() => ev.set(), 5);
    expect(getCurrent().name).toBe('main');
    expect(await ev.wait()).toBe(true);
  });

  it('names the wait for run-info: kind event.wait, detail the event (held weakly, through its wait target)', async () => {
    const ev = new Event();
    const g = spawn(() => ev.wait());
    await sleep(0);
    const ops = hub.opsOf(g);
    expect(ops.map((op) => [op.kind.name, targetOwner(op.detail)])).toEqual([['event.wait', ev]]);
    expect(opText(ops[0]!)).toBe('event.wait <Event clear, 1 waiting>');
    ev.set();
    await g.join();
  });

  it('bad input throws TypeError/RangeError quoting the value', () => {
    const ev = new Event();
    expect(() => ev.wait('x' as never)).toThrow(new TypeError("Expected `timeout` to be a number of milliseconds >= 0 or undefined, got `'x'` (string)"));
    expect(() => ev.wait(-1)).toThrow(RangeError);
    expect(() => ev.wait(NaN)).toThrow(RangeError);
  });
});

describe('AsyncResult', () => {
  it('starts pending; set() stores the value', () => {
    const r = new AsyncResult<number>();
    expect([r.ready(), r.successful(), r.value, r.exception]).toEqual([false, false, undefined, undefined]);
    r.set(7);
    expect([r.ready(), r.successful(), r.value, r.exception]).toEqual([true, true, 7, undefined]);
  });

  it('get() waits for the value; waiters wake in the order they began waiting', async () => {
    const r = new AsyncResult<string>();
    const log: Array<[number, string]> = [];
    const gs = waiters(4, () => r.get(), log);
    await sleep(0);
    expect(String(r)).toBe('<AsyncResult pending, 4 waiting>');
    r.set('v');
    expect(log).toEqual([]); // set() never switches
    await joinAll(gs);
    expect(log).toEqual([0, 1, 2, 3].map((i) => [i, 'v']));
    expect(await r.get()).toBe('v');
  });

  it('get() rethrows the error given to setException(), to waiters and later callers', async () => {
    const r = new AsyncResult<number>();
    const boom = new Error('boom');
    const g = spawn(() => r.get());
    await sleep(0);
    r.setException(boom);
    await expect(g.get()).rejects.toBe(boom);
    await expect(r.get()).rejects.toBe(boom);
    expect([r.ready(), r.successful(), r.value, r.exception]).toEqual([true, false, undefined, boom]);
  });

  it('wait() gives the value, or undefined for an error or on timeout; it never throws the error', async () => {
    const ok = new AsyncResult<number>();
    setTimeout(() => ok.set(3), 5);
    expect(await ok.wait()).toBe(3);
    const bad = new AsyncResult<number>();
    const g = spawn(() => bad.wait());
    await sleep(0);
    bad.setException(new Error('x'));
    expect(await g.get()).toBeUndefined();
    expect(await bad.wait()).toBeUndefined();
    const never = new AsyncResult<number>();
    expect(await never.wait(10)).toBeUndefined();
    expect(String(never)).toBe('<AsyncResult pending>');
    expect(inFlight('asyncresult.wait')).toBe(0);
  });

  it('get({ timeout }) throws a TimeoutError naming its own timeout, and leaves no waiter', async () => {
    const r = new AsyncResult<number>();
    const e = await r.get({ timeout: 10 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TimeoutError);
    expect((e as TimeoutError).timeout?.ms).toBe(10);
    expect(String(r)).toBe('<AsyncResult pending>');
    expect(inFlight('asyncresult.get')).toBe(0);
  });

  it('get({ block: false }) throws TimeoutError at once when not ready, gives the value when ready', async () => {
    const r = new AsyncResult<number>();
    const e = await r.get({ block: false }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TimeoutError);
    expect((e as TimeoutError).timeout).toBeUndefined();
    r.set(1);
    expect(await r.get({ block: false })).toBe(1);
  });

  it('an outer Timeout passes through get() and wait()', async () => {
    const r = new AsyncResult<number>();
    const g = spawn(async () => {
      const t = Timeout.startNew(10);
      try {
        await r.get({ timeout: 5_000 });
      } catch (e) {
        return (e as TimeoutError).timeout === t;
      } finally {
        t.cancel();
      }
      return 'not interrupted';
    });
    expect(await g.get()).toBe(true);
    await expect(withTimeout(10, () => r.wait(5_000))).rejects.toBeInstanceOf(TimeoutError);
    expect(String(r)).toBe('<AsyncResult pending>');
  });

  it('a killed getter leaves; set() then wakes only the others', async () => {
    const r = new AsyncResult<number>();
    const victim = spawn(() => r.get());
    const log: Array<[number, number]> = [];
    const others = waiters(2, () => r.get(), log);
    await sleep(0);
    await victim.kill();
    expect(victim.value).toBeInstanceOf(GreenletExit);
    expect(String(r)).toBe('<AsyncResult pending, 2 waiting>');
    r.set(9);
    await joinAll(others);
    expect(log).toEqual([[0, 9], [1, 9]]);
    expect(inFlight('asyncresult.get')).toBe(0);
  });

  it('links run once, asynchronously, in registration order, even when linked after set()', async () => {
    const r = new AsyncResult<number>();
    const log: string[] = [];
    r.link((x) => log.push(`first ${x.value}`));
    r.link(() => log.push('second'));
    r.set(5);
    expect(log).toEqual([]);
    await sleep(0);
    expect(log).toEqual(['first 5', 'second']);
    r.link(() => log.push('late'));
    expect(log).toEqual(['first 5', 'second']);
    await sleep(0);
    r.set(6); // already-run links do not run again
    await sleep(0);
    expect(log).toEqual(['first 5', 'second', 'late']);
  });

  it('a link that throws is reported and does not stop the others', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const r = new AsyncResult<number>();
      const log: number[] = [];
      r.link(function brokenLink() {
        throw new Error('link broke');
      });
      r.link((x) => log.push(x.value!));
      r.set(1);
      await sleep(0);
      expect(log).toEqual([1]);
      expect(write.mock.calls.map((c) => String(c[0])).join('')).toMatch(/brokenLink\(\) threw: Error: link broke/);
    } finally {
      write.mockRestore();
    }
  });

  it('unlink() removes every registration of a callback', async () => {
    const r = new AsyncResult<number>();
    const log: string[] = [];
    const cb = () => log.push('cb');
    r.link(cb);
    r.link(cb);
    r.link(() => log.push('kept'));
    r.unlink(cb);
    r.set(1);
    await sleep(0);
    expect(log).toEqual(['kept']);
  });

  it('an early link may unlink a later one while the links run: the later one never runs (gevent)', async () => {
    const r = new AsyncResult<number>();
    const log: string[] = [];
    const later = () => log.push('later');
    r.link(() => {
      log.push('early');
      r.unlink(later);
    });
    const waiter = spawn(() => r.get()); // a waiter between the links wakes as before
    await sleep(0);
    r.link(later);
    r.link((x) => log.push(`kept ${x.value}`));
    r.set(3);
    await sleep(0);
    expect(log).toEqual(['early', 'kept 3']);
    expect(await waiter.get()).toBe(3);
    // Linked after set(), unlinked by an earlier one of the same pass: the same.
    const r2 = new AsyncResult<number>();
    r2.set(1);
    r2.link(() => r2.unlink(later));
    r2.link(later);
    await sleep(0);
    expect(log).toEqual(['early', 'kept 3']);
  });

  it('setting again replaces the outcome for later calls; waiters already woken keep theirs', async () => {
    const r = new AsyncResult<number>();
    const g = spawn(() => r.get());
    await sleep(0);
    r.set(1);
    r.set(2);
    expect(await g.get()).toBe(1);
    expect(await r.get()).toBe(2);
    const boom = new Error('boom');
    r.setException(boom);
    expect([r.successful(), r.value, r.exception]).toEqual([false, undefined, boom]);
    await expect(r.get()).rejects.toBe(boom);
    r.set(3);
    expect([r.successful(), r.value, r.exception]).toEqual([true, 3, undefined]);
  });

  it('is a waitable: wait() resolves once it is set', async () => {
    const r = new AsyncResult<number>();
    expect(await wait([r], { timeout: 5 })).toEqual([]);
    expect(String(r)).toBe('<AsyncResult pending>');
    setTimeout(() => r.setException(new Error('x')), 5);
    expect(await wait([r])).toEqual([r]);
  });

  it('names the waits for run-info: asyncresult.get and asyncresult.wait', async () => {
    const r = new AsyncResult<number>();
    const a = spawn(() => r.get());
    const b = spawn(() => r.wait());
    await sleep(0);
    expect([...hub.opsOf(a), ...hub.opsOf(b)].map((op) => [op.kind.name, targetOwner(op.detail)])).toEqual([
      ['asyncresult.get', r],
      ['asyncresult.wait', r],
    ]);
    r.set(1);
    await joinAll([a, b]);
  });

  it('bad input throws TypeError/RangeError quoting the value', () => {
    const r = new AsyncResult<number>();
    expect(() => r.get({ block: 'no' } as never)).toThrow(new TypeError("Expected `block` to be a boolean, got `'no'` (string)"));
    expect(() => r.get({ timeout: -1 })).toThrow(RangeError);
    expect(() => r.get('x' as never)).toThrow(TypeError);
    expect(() => r.wait('x' as never)).toThrow(TypeError);
    expect(() => r.link(3 as never)).toThrow(new TypeError('Expected `callback` to be a function, got `3` (number)'));
  });
});
