import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it, vi } from 'vitest';
import {
  Greenlet,
  GreenletExit,
  TimeoutError,
  getCurrent,
  joinAll,
  kill,
  sleep,
  spawn,
  spawnLater,
} from '../src/index.js';
import { runFixture } from './run-fixture.js';

describe('spawn and start', () => {
  it('starts greenlets in spawn order, after the spawner’s synchronous run', async () => {
    const log: string[] = [];
    spawn(() => log.push('a'));
    spawn(() => log.push('b'));
    log.push('spawner');
    expect(log).toEqual(['spawner']);
    await sleep(0);
    expect(log).toEqual(['spawner', 'a', 'b']);
  });

  it('never runs the function inside spawn()', () => {
    let ran = false;
    const g = spawn(() => {
      ran = true;
    });
    expect(ran).toBe(false);
    expect(g.started).toBe(true);
    expect(g.dead).toBe(false);
  });

  it('new Greenlet() does not start until start()', async () => {
    let ran = 0;
    const g = new Greenlet(() => ++ran);
    await sleep(5);
    expect(ran).toBe(0);
    expect(g.started).toBe(false);
    g.start();
    g.start(); // no-op
    expect(await g.get()).toBe(1);
    expect(ran).toBe(1);
  });

  it('passes arguments and records them', async () => {
    const g = spawn((a: number, b: string) => `${a}${b}`, 1, 'x');
    expect(g.args).toEqual([1, 'x']);
    expect(await g.get()).toBe('1x');
  });

  it('spawnLater and startLater start after the delay', async () => {
    const t0 = performance.now();
    const g = spawnLater(30, () => performance.now());
    expect(g.started).toBe(false);
    const at = await g.get();
    expect(at - t0).toBeGreaterThanOrEqual(25);
  });

  it('records the parent (the spawning greenlet)', async () => {
    const outer = spawn(() => spawn(() => getCurrent()));
    const inner = await outer.get();
    expect(inner.parent).toBe(outer);
    expect(outer.parent).toBe(getCurrent());
    expect(await inner.get()).toBe(inner);
  });

  it('names greenlets Greenlet-<id> unless named', async () => {
    const g = spawn(() => 1);
    expect(g.name).toBe(`Greenlet-${g.id}`);
    g.name = 'worker';
    expect(g.name).toBe('worker');
    expect(getCurrent().name).toBe('main');
    expect(() => {
      g.name = 3 as unknown as string;
    }).toThrow(TypeError);
  });
});

describe('join and get', () => {
  it('get() gives the value, join() waits', async () => {
    const g = spawn(async () => {
      await sleep(5);
      return 42;
    });
    await g.join();
    expect(g.ready()).toBe(true);
    expect(g.successful()).toBe(true);
    expect(g.value).toBe(42);
    expect(await g.get()).toBe(42);
  });

  it('get() rethrows the greenlet’s error; join() does not', async () => {
    const boom = new Error('boom');
    const g = spawn(async () => {
      await sleep(1);
      throw boom;
    });
    await expect(g.join()).resolves.toBeUndefined();
    await expect(g.get()).rejects.toBe(boom);
    expect(g.successful()).toBe(false);
    expect(g.exception).toBe(boom);
  });

  it('join(timeout) resolves at the timeout; get({ timeout }) throws TimeoutError', async () => {
    const g = spawn(() => sleep(1000));
    const t0 = performance.now();
    await g.join(20);
    expect(g.dead).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(15);
    const e = await g.get({ timeout: 10 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TimeoutError);
    expect((e as TimeoutError).timeout?.ms).toBe(10);
    await expect(g.get({ block: false })).rejects.toBeInstanceOf(TimeoutError);
    await g.kill();
  });

  it('joiners wake in the order they began waiting', async () => {
    const target = spawn(() => sleep(5));
    const log: number[] = [];
    const joiners = [1, 2, 3, 4].map((n) =>
      spawn(async () => {
        await target.join();
        log.push(n);
      }),
    );
    await joinAll(joiners);
    expect(log).toEqual([1, 2, 3, 4]);
  });

  it('a joiner woken by a death runs before a greenlet spawned after that death', async () => {
    const log: string[] = [];
    const target = spawn(() => sleep(1));
    const joiner = spawn(async () => {
      await target.join();
      log.push('joiner');
    });
    await target.join();
    spawn(() => log.push('late spawn'));
    await joiner.join();
    await sleep(0);
    expect(log).toEqual(['joiner', 'late spawn']);
  });
});

describe('kill', () => {
  it('kills sleeping greenlets: finally blocks run and no timer is left (own process)', () => {
    const r = runFixture('kill-sleeping.ts');
    expect(r.json).toEqual({ before: r.json.before, during: (r.json.before as number) + 10, after: r.json.before, cleaned: true, dead: true });
  });

  it('a killed sleeping greenlet ends successfully with GreenletExit', async () => {
    let cleaned = false;
    const g = spawn(async () => {
      try {
        await sleep(60_000);
      } finally {
        cleaned = true;
      }
    });
    await sleep(0);
    await g.kill();
    expect(cleaned).toBe(true);
    expect(g.dead).toBe(true);
    expect(g.successful()).toBe(true);
    expect(g.value).toBeInstanceOf(GreenletExit);
  });

  it('a greenlet killed before it starts never runs', async () => {
    let ran = false;
    const g = spawn(() => {
      ran = true;
    });
    await g.kill();
    await sleep(5);
    expect(ran).toBe(false);
    expect(g.dead).toBe(true);
    expect(g.value).toBeInstanceOf(GreenletExit);
    const h = new Greenlet(() => {
      ran = true;
    });
    await h.kill();
    h.start();
    await sleep(5);
    expect(ran).toBe(false);
  });

  it('kill with a custom error fails the greenlet with it', async () => {
    const err = new Error('custom');
    const g = spawn(() => sleep(1000));
    await sleep(0);
    g.link(() => {}); // observed: no stderr report
    await g.kill(err);
    expect(g.exception).toBe(err);
    expect(g.successful()).toBe(false);
  });

  it('never throws for the state of its target', async () => {
    const g = spawn(() => 1);
    await g.join();
    await expect(g.kill()).resolves.toBeUndefined();
    await expect(g.kill()).resolves.toBeUndefined();
    const h = new Greenlet(() => 1);
    await expect(kill(h)).resolves.toBeUndefined();
  });

  it('throws synchronously for a bad error or target, and for the main greenlet', () => {
    const g = spawn(() => sleep(10));
    expect(() => g.kill('nope' as unknown as Error)).toThrow(/Expected `error` to be an Error, got `'nope'` \(string\)/);
    expect(() => kill(42 as unknown as Greenlet)).toThrow(TypeError);
    expect(() => getCurrent().kill()).toThrow(/main greenlet cannot be killed/);
    void g.kill(undefined, { block: false });
  });

  it('a greenlet that kills itself gets the kill error thrown there', async () => {
    const g = spawn(async () => {
      try {
        await getCurrent().kill();
        return 'not reached';
      } catch (e) {
        return e;
      }
    });
    expect(await g.get()).toBeInstanceOf(GreenletExit);
  });

  it('kill({ block: false }) returns at once; the greenlet dies soon after', async () => {
    const g = spawn(() => sleep(1000));
    await sleep(0);
    const p = g.kill(undefined, { block: false });
    expect(g.dead).toBe(false);
    await p;
    await g.join();
    expect(g.dead).toBe(true);
  });

  it('a greenlet that catches the kill and waits again keeps a blocking kill waiting (bounded by timeout)', async () => {
    let caught = 0;
    let stop = false;
    const g = spawn(async () => {
      while (!stop) {
        try {
          await sleep(1000);
        } catch {
          caught++;
        }
      }
    });
    await sleep(0);
    await g.kill(undefined, { timeout: 30 });
    expect(caught).toBe(1);
    expect(g.dead).toBe(false);
    // A second kill interrupts it again; once it stops catching, the kill completes.
    stop = true;
    await g.kill();
    expect(caught).toBe(2);
    expect(g.dead).toBe(true);
  });

  it('a greenlet that swallows the kill and returns ends with what it returns', async () => {
    const g = spawn(async () => {
      try {
        await sleep(1000);
      } catch {
        return 'swallowed';
      }
      return 'slept';
    });
    await sleep(0);
    await g.kill();
    expect(g.value).toBe('swallowed');
  });

  it('abandons a greenlet suspended on a promise greenio cannot see, so the kill completes', async () => {
    let resume!: () => void;
    const hidden = new Promise<void>((r) => (resume = r));
    let finallyRan = false;
    let after: unknown = 'none';
    const g = spawn(async () => {
      try {
        await hidden;
        try {
          await sleep(1);
          after = 'slept';
        } catch (e) {
          after = e;
        }
        return 'resumed';
      } finally {
        finallyRan = true;
      }
    });
    await sleep(0);
    const t0 = performance.now();
    await g.kill();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(g.dead).toBe(true);
    expect(g.value).toBeInstanceOf(GreenletExit);
    expect(finallyRan).toBe(false);
    // Should it ever resume, its next greenio wait throws the kill error, and nothing changes its outcome.
    resume();
    await sleep(5);
    expect(after).toBeInstanceOf(GreenletExit);
    expect(finallyRan).toBe(true);
    expect(g.value).toBeInstanceOf(GreenletExit);
  });

  it('a blocking kill waits for the finally blocks, including their own waits', async () => {
    const log: string[] = [];
    const g = spawn(async () => {
      try {
        await sleep(1000);
      } finally {
        await sleep(10);
        log.push('cleanup done');
      }
    });
    await sleep(0);
    await g.kill();
    expect(log).toEqual(['cleanup done']);
  });
});

describe('links', () => {
  it('run once, asynchronously, in registration order, even when linked after death', async () => {
    const log: string[] = [];
    const g = spawn(() => 7);
    g.link(() => log.push('a'));
    g.linkValue(() => log.push('value'));
    g.linkException(() => log.push('exception'));
    await g.join();
    await sleep(0);
    expect(log).toEqual(['a', 'value']);
    g.link(() => log.push('late'));
    expect(log).toEqual(['a', 'value']);
    await sleep(0);
    expect(log).toEqual(['a', 'value', 'late']);
  });

  it('linkException fires on failure; a throwing link does not stop the others', async () => {
    const log: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const g = spawn(() => {
        throw new Error('x');
      });
      g.linkException(() => {
        throw new Error('link broke');
      });
      g.linkException((x) => log.push(String((x.exception as Error).message)));
      g.linkValue(() => log.push('value'));
      await g.join();
      await sleep(0);
      expect(log).toEqual(['x']);
      expect(write.mock.calls.map((c) => String(c[0])).join('')).toMatch(/link broke/);
    } finally {
      write.mockRestore();
    }
  });

  it('unlink removes a callback', async () => {
    const log: string[] = [];
    const cb = () => log.push('cb');
    const g = spawn(() => sleep(1));
    g.link(cb);
    g.unlink(cb);
    await g.join();
    await sleep(0);
    expect(log).toEqual([]);
  });
  it('an early link may unlink a later one while the links run: the later one never runs (gevent)', async () => {
    const log: string[] = [];
    const later = () => log.push('later');
    const kept = () => log.push('kept');
    const g = spawn(() => sleep(1));
    g.link(() => {
      log.push('early');
      g.unlink(later);
      // A link added while the links run runs in the same pass, after the others.
      g.link(() => log.push('added'));
    });
    g.linkValue(later);
    g.link(kept);
    g.link(later);
    await g.join();
    await sleep(0);
    expect(log).toEqual(['early', 'kept', 'added']);
  });

  it('unlink after death, before the links run, stops a link too; one already run is unaffected', async () => {
    const log: string[] = [];
    const a = () => log.push('a');
    const b = () => log.push('b');
    const g = spawn(() => 1);
    g.link(a);
    g.link(b);
    await g.join();
    g.unlink(b); // dead, links scheduled, not run yet
    await sleep(0);
    expect(log).toEqual(['a']);
    g.unlink(a);
    g.link(b);
    await sleep(0);
    expect(log).toEqual(['a', 'b']);
  });
});

describe('unjoined failures', () => {
  it('are reported once on stderr with name and stack, without crashing', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const g = spawn(function failingTask() {
        throw new Error('nobody listens');
      });
      g.name = 'lonely';
      await sleep(5);
      await sleep(5);
      const out = write.mock.calls.map((c) => String(c[0])).join('');
      expect(out.match(/lonely \(failingTask\) failed/g)).toHaveLength(1);
      expect(out).toMatch(/Error: nobody listens\n\s+at /);
    } finally {
      write.mockRestore();
    }
  });

  it('are not reported when someone joins or links', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const g = spawn(() => {
        throw new Error('joined');
      });
      await g.join();
      await sleep(5);
      expect(write.mock.calls.map((c) => String(c[0])).join('')).not.toMatch(/joined/);
    } finally {
      write.mockRestore();
    }
  });
});

describe('not a thenable', () => {
  it('passes unchanged through a promise and an async generator', async () => {
    const g = spawn(async () => {
      await sleep(5);
      return 1;
    });
    expect('then' in g).toBe(false);
    const viaPromise = await Promise.resolve(g);
    expect(viaPromise).toBe(g);
    async function* gen() {
      yield g;
    }
    for await (const x of gen()) expect(x).toBe(g);
    expect(g.dead).toBe(false); // it was not awaited to its result
    await g.join();
  });
});

describe('context', () => {
  it('a user’s AsyncLocalStorage store active at spawn() is active inside the greenlet', async () => {
    const als = new AsyncLocalStorage<string>();
    const g = als.run('request-1', () => spawn(async () => {
      await sleep(1);
      return als.getStore();
    }));
    const h = new AsyncLocalStorage<string>().run('x', () => als.run('request-2', () => new Greenlet(() => als.getStore())));
    h.start();
    expect(await g.get()).toBe('request-1');
    expect(await h.get()).toBe('request-2');
  });

  it('getCurrent() is the greenlet itself inside it, across awaits', async () => {
    const g = spawn(async () => {
      const a = getCurrent();
      await sleep(1);
      await Promise.resolve();
      return a === getCurrent() ? a : null;
    });
    expect(await g.get()).toBe(g);
  });
});

describe('bad input', () => {
  it('spawn(42) throws a TypeError quoting the value', () => {
    expect(() => spawn(42 as never)).toThrow(new TypeError('Expected `fn` to be a function, got `42` (number)'));
    expect(() => new Greenlet('x' as never)).toThrow(TypeError);
    expect(() => spawnLater(-1, () => 1)).toThrow(RangeError);
  });

  it('join/get with a bad timeout throw', () => {
    const g = spawn(() => 1);
    expect(() => g.join(-5)).toThrow(RangeError);
    expect(() => g.get({ timeout: 'x' as never })).toThrow(TypeError);
  });
});
