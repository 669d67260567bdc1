// "A timeout is always on time" (API.md): withTimeout settles at its deadline whatever fn
// awaits. Here unpatched, in-process; the patched cases, stderr and leak counts run in
// fresh processes (fixtures/timeout-ontime-patched.ts).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AsyncResult,
  Event,
  Lock,
  Pool,
  Queue,
  QueueEmpty,
  QueueFull,
  Timeout,
  TimeoutError,
  config,
  formatRunInfo,
  sleep,
  spawn,
  startTrace,
  stats,
  stopTrace,
  timelineHTML,
  withTimeout,
} from '../src/index.js';
import { tempDir } from './helpers.js';
import { runFixture } from './run-fixture.js';

/** A promise greenio cannot see, settled by hand: `open(v)` resumes whoever awaits it. */
function invisible<T>(): { promise: Promise<T>; open: (v: T) => void } {
  let open!: (v: T) => void;
  const promise = new Promise<T>((r) => (open = r));
  return { promise, open };
}

const elapsed = (t0: number): number => performance.now() - t0;

beforeAll(() => {
  config.warnUnreachable = false; // the stderr line is tested in its own process
});
afterAll(() => {
  config.warnUnreachable = true;
});

describe('withTimeout settles at its deadline whatever fn awaits (unpatched)', () => {
  it('returns timeoutValue in main while fn awaits a setTimeout promise greenio cannot see', async () => {
    const t0 = performance.now();
    const v = await withTimeout(100, () => new Promise((r) => setTimeout(r, 4000, 'late')), { timeoutValue: null });
    expect(v).toBe(null);
    expect(elapsed(t0)).toBeLessThan(3000);
  });

  it('rejects with its TimeoutError in a greenlet, naming its Timeout', async () => {
    const t0 = performance.now();
    const g = spawn(() => withTimeout(100, () => invisible<string>().promise));
    const e = await g.get().catch((err: unknown) => err);
    expect(e).toBeInstanceOf(TimeoutError);
    expect((e as TimeoutError).timeout).toBeInstanceOf(Timeout);
    expect((e as TimeoutError).timeout!.ms).toBe(100);
    expect(elapsed(t0)).toBeLessThan(3000);
  });

  it('drops fn\'s late result and late error, and counts them', async () => {
    const before = stats().abandoned;
    const a = invisible<string>();
    const b = invisible<string>();
    expect(await withTimeout(20, () => a.promise, { timeoutValue: 'timed out' })).toBe('timed out');
    expect(await withTimeout(20, async () => { await b.promise; throw new Error('late failure'); }, { timeoutValue: 'timed out' })).toBe('timed out');
    const mid = stats().abandoned;
    expect(mid.timeouts).toBe(before.timeouts + 2);
    expect(mid.lateResults).toBe(before.lateResults);
    a.open('late');
    b.open('late');
    await sleep(20);
    expect(stats().abandoned.lateResults).toBe(before.lateResults + 2);
  });

  it('a resumed abandoned flow meets the TimeoutError at its next greenio wait: what follows never happens', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const gate = invisible<void>();
      const file = join(dir, 'side-effect');
      let counter = 0;
      let seen: unknown;
      const fn = async (): Promise<string> => {
        await gate.promise;
        try {
          await sleep(0);
        } catch (e) {
          seen = e;
          throw e;
        }
        counter++;
        writeFileSync(file, 'written');
        return 'done';
      };
      const r = await withTimeout(30, fn, { timeoutValue: 'timed out' });
      expect(r).toBe('timed out');
      gate.open();
      await sleep(50);
      expect(seen).toBeInstanceOf(TimeoutError);
      expect(counter).toBe(0);
      expect(existsSync(file)).toBe(false);
    } finally {
      cleanup();
    }
  });

  it('a flow made inside an abandoned flow is dead too (a nested withTimeout, a later sleep)', async () => {
    const gate = invisible<void>();
    let inner: unknown = 'not reached';
    const done = invisible<void>();
    await withTimeout(20, async () => {
      await gate.promise;
      try {
        await withTimeout(1000, () => sleep(1));
        inner = 'ran';
      } catch (e) {
        inner = e;
      } finally {
        done.open();
      }
    }, { timeoutValue: null });
    gate.open();
    await done.promise;
    expect(inner).toBeInstanceOf(TimeoutError);
  });

  it('waits for fn\'s finally blocks that wait on greenio, as gevent does, then settles with the timeout', async () => {
    const order: string[] = [];
    const v = await withTimeout(20, async () => {
      try {
        await sleep(10_000);
      } finally {
        await sleep(30);
        order.push('finally done');
      }
    }, { timeoutValue: 'timed out' });
    order.push('returned');
    expect(v).toBe('timed out');
    expect(order).toEqual(['finally done', 'returned']);
    expect(stats().abandoned.lateResults).toBeGreaterThanOrEqual(0);
  });

  it('abandons fn whose finally block awaits a promise greenio cannot see (bounded)', async () => {
    const before = stats().abandoned.timeouts;
    const t0 = performance.now();
    const v = await withTimeout(20, async () => {
      try {
        await sleep(10_000);
      } finally {
        await invisible<void>().promise;
      }
    }, { timeoutValue: 'timed out' });
    expect(v).toBe('timed out');
    expect(elapsed(t0)).toBeLessThan(3000);
    expect(stats().abandoned.timeouts).toBe(before + 1);
  });

  it('an inner withTimeout abandoned leaves the outer flow running on', async () => {
    const v = await withTimeout(5000, async () => {
      const inner = await withTimeout(20, () => invisible<string>().promise, { timeoutValue: 'inner timed out' });
      await sleep(1);
      return `outer saw ${inner}`;
    });
    expect(v).toBe('outer saw inner timed out');
  });

  it('a sibling flow of the same greenlet is untouched by the abandonment', async () => {
    const g = spawn(async () => {
      const [a, b] = await Promise.all([
        withTimeout(20, () => invisible<string>().promise, { timeoutValue: 'a timed out' }),
        (async () => {
          await sleep(60);
          return 'b slept';
        })(),
      ]);
      await sleep(1);
      return [a, b];
    });
    expect(await g.get()).toEqual(['a timed out', 'b slept']);
  });

  it('run-info lists the abandoned flow until fn settles', async () => {
    const gate = invisible<void>();
    await withTimeout(20, async function stuckOnSomething() {
      await gate.promise;
    }, { timeoutValue: null });
    await sleep(10); // the description (with the site) is written on the next turn
    const info = formatRunInfo();
    expect(info).toMatch(/abandoned: withTimeout 20 ms: stuckOnSomething \(.*timeout-ontime\.test\.ts:\d+:\d+\) awaits a promise greenio cannot see \(for /);
    gate.open();
    await sleep(10);
    expect(formatRunInfo()).not.toMatch(/stuckOnSomething/);
  });

  it('a trace shows the unreachable await as abandoned, and an interrupted wait as timed out', async () => {
    startTrace();
    await withTimeout(20, () => invisible<void>().promise, { timeoutValue: null });
    await withTimeout(20, () => sleep(5000), { timeoutValue: null });
    await sleep(10);
    const events = stopTrace();
    const abandoned = events.filter((e) => e.name === 'withTimeout abandoned');
    expect(abandoned).toHaveLength(1);
    expect(abandoned[0]!.args).toMatchObject({ outcome: 'abandoned' });
    expect(abandoned[0]!.dur).toBeGreaterThanOrEqual(15_000);
    const sleeps = events.filter((e) => e.name === 'sleep' && e.ph === 'X');
    expect(sleeps.some((e) => e.args?.outcome === 'timeout')).toBe(true);
    expect(sleeps.filter((e) => e.args?.outcome === undefined).length).toBeGreaterThan(0); // completed: no outcome
    // The timeline page carries each op's outcome, to draw the abandoned one apart.
    const html = timelineHTML(events);
    expect(html).toMatch(/"withTimeout abandoned"/);
    expect(html).toMatch(/,"abandoned"\]/);
    expect(html).toMatch(/,"timeout"\]/);
  });

  it('a bare Timeout cannot resume an invisible await: it interrupts the flow\'s next greenio wait', async () => {
    const g = spawn(async () => {
      const t = Timeout.startNew(20);
      const steps: string[] = [];
      try {
        await new Promise((r) => setTimeout(r, 80));
        steps.push('invisible await ended normally');
        await sleep(0);
        steps.push('not reached');
      } catch (e) {
        steps.push(e instanceof TimeoutError && e.timeout === t ? 'next wait threw' : String(e));
      } finally {
        t.cancel();
      }
      return steps;
    });
    expect(await g.get()).toEqual(['invisible await ended normally', 'next wait threw']);
  });
});

describe('blocking calls with a timeout option settle on time', () => {
  it('queue.get, queue.put, event.wait, lock.acquire, join, get, result.get and pool.waitAvailable', async () => {
    const t0 = performance.now();
    const q = new Queue<number>();
    const full = new Queue<number>(1);
    full.putNowait(1);
    const lock = new Lock();
    await lock.acquire();
    const sleeper = spawn(() => sleep(10_000));
    const pool = new Pool(1);
    await pool.spawn(() => sleep(10_000));
    const results = await Promise.all([
      q.get({ timeout: 50 }).catch((e: unknown) => e),
      new Event().wait(50),
      spawn(() => lock.acquire({ timeout: 50 })).get(),
      sleeper.join(50).then(() => sleeper.dead),
      sleeper.get({ timeout: 50 }).catch((e: unknown) => e),
      new AsyncResult<number>().get({ timeout: 50 }).catch((e: unknown) => e),
      pool.waitAvailable({ timeout: 50 }),
      full.put(2, { timeout: 50 }).catch((e: unknown) => e),
    ]);
    expect(elapsed(t0)).toBeLessThan(5000);
    expect(results[0]).toBeInstanceOf(QueueEmpty);
    expect(results[1]).toBe(false);
    expect(results[2]).toBe(false);
    expect(results[3]).toBe(false);
    expect(results[4]).toBeInstanceOf(TimeoutError);
    expect(results[5]).toBeInstanceOf(TimeoutError);
    expect(results[6]).toBe(0);
    expect(results[7]).toBeInstanceOf(QueueFull);
    lock.release();
    await sleeper.kill();
    await pool.kill();
  });

  it('withTimeout around a blocking call whose own timeout is later: the withTimeout wins at its deadline', async () => {
    const q = new Queue<number>();
    const t0 = performance.now();
    const v = await withTimeout(30, () => q.get({ timeout: 10_000 }), { timeoutValue: 'outer' });
    expect(v).toBe('outer');
    expect(elapsed(t0)).toBeLessThan(5000);
  });
});

describe('a kill that cannot reach its greenlet', () => {
  it('abandons it, and stats() counts it', async () => {
    const before = stats().abandoned.kills;
    const g = spawn(() => invisible<void>().promise);
    await sleep(0);
    await g.kill();
    expect(g.dead).toBe(true);
    expect(stats().abandoned.kills).toBe(before + 1);
    await sleep(10); // its report is written on the next turn
  });
});

describe('in fresh processes', () => {
  it('under the patch: on time, IO released, side effects refused, one stderr line per call site, nothing leaked', () => {
    const { json, stderr } = runFixture('timeout-ontime-patched.ts');
    expect(json.mainValue).toBe(null);
    expect(json.mainMs).toBeLessThan(3000);
    expect(json.greenletError).toBe('TimeoutError');
    expect(json.serverSawClose).toBe(true);
    expect(json.writeError).toBe('TimeoutError');
    expect(json.fileWritten).toBe(false);
    expect(json.timersLeft).toBe(0);
    expect(json.socketsLeft).toBe(0);
    // A leak is an fd more; fewer is Node's or tsx's own fds opened before the count and
    // closed since (CI saw -2 once on Node 24).
    expect(json.fdsLeft).toBeLessThanOrEqual(0);
    expect(json.stats).toMatchObject({ timeouts: 7, kills: 1 });
    const lines = stderr.split('\n').filter((l) => l.startsWith('greenio: '));
    // Three abandonments at one site say it once; the other sites once each; the
    // abandonment after `config.warnUnreachable = false` says nothing.
    const sites = lines.map((l) => /at (\S+timeout-ontime-patched\.ts:\d+:\d+)/.exec(l)?.[1]);
    expect(sites.every((s) => s !== undefined)).toBe(true);
    expect(new Set(sites).size).toBe(lines.length);
    expect(lines.filter((l) => l.includes('withTimeout(')).length).toBe(json.warnedTimeoutSites);
    expect(lines.filter((l) => /kill\(\) of .*reader/.test(l)).length).toBe(1);
    for (const l of lines) expect(l).toMatch(/await a greenio wait instead|load the patch/);
  });

  it('GREENIO_WARN_UNREACHABLE=0 silences the line, not the abandonment', () => {
    const { json, stderr } = runFixture('timeout-ontime-patched.ts', [], { GREENIO_WARN_UNREACHABLE: '0' });
    expect(json.mainValue).toBe(null);
    expect(json.stats).toMatchObject({ timeouts: 7, kills: 1 });
    expect(stderr).not.toMatch(/^greenio: /m);
  });
});
