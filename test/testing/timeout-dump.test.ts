import { describe, expect, it } from 'vitest';
import { Event, spawn, sleep } from '../../src/index.js';
import { TestTimeoutError, installTimeoutDump, withTestTimeout, type TestHooks } from '../../src/testing/index.js';

describe('withTestTimeout', () => {
  it('passes the value of a test that finishes in time', async () => {
    expect(await withTestTimeout(10_000, async () => (await sleep(5), 'ok'))).toBe('ok');
    await expect(withTestTimeout(10_000, () => Promise.reject(new RangeError('own')))).rejects.toThrow(new RangeError('own'));
  });

  it('fails a hung test with the dump of every greenlet: name, what it waits on, spawned where', async () => {
    const never = new Event();
    const g = spawn(async function fetcher() {
      await never.wait();
    });
    const err = await withTestTimeout(150, () => g.join()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TestTimeoutError);
    const e = err as TestTimeoutError;
    expect(e.code).toBe('GREENIO_TEST_TIMEOUT');
    expect(e.ms).toBe(150);
    expect(e.message).toMatch(/^the test timed out after 150 ms; every greenlet then:\ngreenio run info/);
    expect(e.runInfo).toMatch(new RegExp(`#${g.id} Greenlet-${g.id} \\(fetcher\\) \\[waiting.*\\]\\n\\s+waits on: event\\.wait`));
    // The main greenlet's join of it shows too: the test was waiting on the fetcher.
    expect(e.runInfo).toMatch(new RegExp(`#0 main[^\\n]*\\n\\s+waits on: join Greenlet-${g.id} \\(fetcher\\)`));
    await g.kill();
  });

  it('rejects bad arguments, quoting them', () => {
    expect(() => withTestTimeout(0, () => 1)).toThrow(new RangeError('Expected `ms` to be a finite number of milliseconds > 0, got `0` (number)'));
    expect(() => withTestTimeout(10, 'x' as never)).toThrow(new TypeError("Expected `fn` to be a function, got `'x'` (string)"));
  });
});

describe('installTimeoutDump', () => {
  function hooks(): { h: TestHooks; before: () => void; after: () => void } {
    const b: Array<() => unknown> = [];
    const a: Array<() => unknown> = [];
    return { h: { beforeEach: (f) => b.push(f), afterEach: (f) => a.push(f) }, before: () => b.forEach((f) => f()), after: () => a.forEach((f) => f()) };
  }

  it('prints the dump when a test still runs after ms, and nothing for a test that ends before', async () => {
    const out: string[] = [];
    const { h, before, after } = hooks();
    installTimeoutDump(h, { ms: 100, sink: { write: (s: string) => out.push(s) } });

    // A test that ends at once (no loop turn in between: the timer cannot have fired).
    before();
    await Promise.resolve();
    after();
    await sleep(200);
    expect(out).toEqual([]);

    before();
    const g = spawn(async function stuck() {
      await sleep(60_000);
    });
    for (let i = 0; i < 100 && out.length === 0; i++) await sleep(50);
    after();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^greenio: the test still runs after 100 ms; every greenlet now:\n/);
    expect(out[0]).toMatch(new RegExp(`Greenlet-${g.id} \\(stuck\\) \\[waiting.*\\]\\n\\s+waits on: sleep 60000ms`));
    await g.kill();
  });

  it('rejects bad arguments, quoting them', () => {
    const { h } = hooks();
    expect(() => installTimeoutDump(h, { ms: -1 })).toThrow(new RangeError('Expected `options.ms` to be a finite number of milliseconds > 0, got `-1` (number)'));
    expect(() => installTimeoutDump(h, { ms: 10, sink: {} as never })).toThrow(new TypeError('Expected `options.sink` to be an object with a write() method, got `{}` (object)'));
    expect(() => installTimeoutDump(undefined as never, { ms: 10 })).toThrow(TypeError);
  });
});
