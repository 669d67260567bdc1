import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Event, Queue, sleep, spawn } from '../../src/index.js';
import { VirtualTimeError, expectNoLeaks, withVirtualTime } from '../../src/testing/index.js';

/** Retry `attempt` with exponential back-off (1 s, doubling) until it succeeds or `budgetMs` is spent. */
async function retry<T>(attempt: (n: number) => T | Promise<T>, budgetMs: number, now: () => number, log: string[]): Promise<T> {
  const start = now();
  let delay = 1000;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      const left = budgetMs - (now() - start);
      log.push(`attempt ${n} failed at +${now() - start} ms`);
      if (left <= 0) throw new Error(`gave up after ${n} attempts`, { cause: e });
      await sleep(Math.min(delay, left));
      delay *= 2;
    }
  }
}

describe('withVirtualTime', () => {
  it('runs a retry loop with 10 minutes of exponential back-off in under a second of wall time', async () => {
    const log: string[] = [];
    const t0 = performance.now();
    const out = await withVirtualTime(async (clock) => {
      const err = await retry(() => Promise.reject(new Error('503')), 600_000, clock.now, log).catch((e: Error) => e);
      return { message: (err as Error).message, at: clock.now() };
    });
    const wall = performance.now() - t0;
    expect(out).toEqual({ message: 'gave up after 11 attempts', at: 600_000 });
    // 1 + 2 + 4 + ... + 512 s = 1023 s > 600 s: the tenth sleep is cut to what is left.
    expect(log).toEqual([0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 600].map((s, i) => `attempt ${i + 1} failed at +${s * 1000} ms`));
    expect(wall).toBeLessThan(1000);
  });

  it('is deterministic: greenlets sleeping different back-offs interleave the same way every run', async () => {
    const run = (): Promise<string[]> =>
      withVirtualTime(async (clock) => {
        const trace: string[] = [];
        const workers = [700, 1100, 1300].map((base, w) =>
          spawn(async () => {
            for (let i = 0, d = base; i < 6; i++, d *= 2) {
              await sleep(d);
              trace.push(`w${w}@${clock.now()}`);
            }
          }),
        );
        for (const g of workers) await g.join();
        return trace;
      });
    const a = await run();
    const b = await run();
    expect(a).toHaveLength(18);
    expect(b).toEqual(a);
    // Virtual time is exact: w0 wakes at 700, 2100, 4900...
    expect(a.filter((s) => s.startsWith('w0'))).toEqual(['w0@700', 'w0@2100', 'w0@4900', 'w0@10500', 'w0@21700', 'w0@44100']);
    const times = a.map((s) => Number(s.split('@')[1]));
    expect([...times].sort((x, y) => x - y)).toEqual(times);
  });

  it('waits for every greenlet spawned inside it, and gives fn the virtual clock', async () => {
    const done: number[] = [];
    const v = await withVirtualTime(async (clock) => {
      spawn(async () => {
        await sleep(90_000);
        done.push(clock.now());
      });
      return clock.now();
    });
    expect(v).toBe(0);
    expect(done).toEqual([90_000]);
  });

  it('fails a deadlock with a VirtualTimeError holding the dump of every greenlet, and leaves none behind', async () => {
    const err = await withVirtualTime(async () => {
      const never = new Event();
      const q = new Queue<number>();
      spawn(async function consumer() {
        await q.get();
      });
      await sleep(5000);
      await never.wait();
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VirtualTimeError);
    const e = err as VirtualTimeError;
    expect(e.code).toBe('GREENIO_VIRTUAL_DEADLOCK');
    expect(e.virtualTime).toBe(5000);
    expect(e.message).toContain('deadlock: every greenlet of the virtual-time bubble is blocked');
    expect(e.message).toContain('(at +5000 ms of virtual time)');
    expect(e.runInfo).toMatch(/virtual-time root \[waiting.*\]\n\s+waits on: event\.wait/);
    expect(e.runInfo).toMatch(/Greenlet-\d+ \(consumer\) \[waiting.*\]\n\s+waits on: queue\.get/);
    expect(e.message).toContain(e.runInfo);
    await expectNoLeaks();
  });

  it('holds time still while IO is in flight (a reply 150 ms away in real time)', async () => {
    const server = net.createServer((s) => {
      setTimeout(() => s.end('pong'), 150);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    try {
      const seen = await withVirtualTime(async (clock) => {
        let ticks = 0;
        const ticker = spawn(async () => {
          for (;;) {
            await sleep(1000);
            ticks++;
          }
        });
        const sock = net.connect(port, '127.0.0.1');
        const [reply] = (await once(sock, 'data')) as [Buffer];
        const at = { reply: reply.toString(), ticks, now: clock.now() };
        sock.destroy();
        await ticker.kill();
        return at;
      });
      expect(seen).toEqual({ reply: 'pong', ticks: 0, now: 0 });
    } finally {
      server.close();
    }
  });

  it('leaves greenlets outside the bubble on real time', async () => {
    let outside = 0;
    const g = spawn(async () => {
      const t = performance.now();
      await sleep(60);
      outside = performance.now() - t;
    });
    await withVirtualTime(async () => {
      await sleep(3_600_000);
    });
    await g.join();
    expect(outside).toBeGreaterThanOrEqual(55);
  });

  it('stops a ticker that never ends at maxTime', async () => {
    const err = (await withVirtualTime(
      async () => {
        for (;;) await sleep(60_000);
      },
      { maxTime: 3_600_000 },
    ).catch((e: unknown) => e)) as VirtualTimeError;
    expect(err.code).toBe('GREENIO_VIRTUAL_LIMIT');
    expect(err.virtualTime).toBe(3_600_000);
    await expectNoLeaks();
  });

  it('rethrows what fn throws, at its virtual time', async () => {
    await expect(
      withVirtualTime(async () => {
        await sleep(10_000);
        throw new RangeError('boom');
      }),
    ).rejects.toThrow(new RangeError('boom'));
  });

  it('runs one virtual clock at a time', async () => {
    const err = await withVirtualTime(() => withVirtualTime(() => 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VirtualTimeError);
    expect((err as VirtualTimeError).code).toBe('GREENIO_VIRTUAL_ACTIVE');
  });

  it('rejects bad arguments, quoting them', async () => {
    expect(() => withVirtualTime(42 as never)).toThrow(new TypeError('Expected `fn` to be a function, got `42` (number)'));
    expect(() => withVirtualTime(() => 1, { maxTime: -1 })).toThrow(new RangeError('Expected `options.maxTime` to be a number of milliseconds > 0, got `-1` (number)'));
    expect(() => withVirtualTime(() => 1, { maxTime: '1' as never })).toThrow(TypeError);
  });
});
