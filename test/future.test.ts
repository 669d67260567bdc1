import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Future } from '../src/workers/future.js';
import { ThreadPool } from '../src/workers/threadpool.js';
import * as hub from '../src/hub/index.js';
import { spawn } from '../src/greenlet.js';
import { sleep } from '../src/sleep.js';
import { iwait, wait } from '../src/wait.js';
import { opText } from '../src/hub/index.js';
import { CancelledError, RemoteError } from '../src/errors.js';
import { TimeoutError } from '../src/timeout.js';
import { tempDir } from './helpers.js';
import { task, waitUntil } from './fixtures/pools-util.js';

const pool = new ThreadPool({ size: 1 });
afterAll(() => pool.close({ timeout: 5000 }));

describe('Future states', () => {
  it('goes from pending to running to done', async () => {
    // Running for 1.5 s: long enough for a poll on a busy machine to see it (60 ms was not).
    const busy = pool.submit(task('sleepThen'), 1500, 'busy');
    const f = pool.submit(task('add'), 1, 2);
    expect(f).toBeInstanceOf(Future);
    expect([f.done(), f.running(), f.cancelled()]).toEqual([false, false, false]);
    await waitUntil(() => busy.running());
    expect(f.running()).toBe(false); // queued behind busy
    await waitUntil(() => f.running() || f.done());
    expect(await f.result()).toBe(3);
    expect([f.done(), f.ready(), f.running(), f.cancelled()]).toEqual([true, true, false, false]);
    expect(String(f)).toMatch(/<Future ThreadPool task add finished>/);
  });

  it('result() rethrows the task error each time; exception() gives it, or undefined on success', async () => {
    const bad = pool.submit(task('fail'), 'nope');
    const e1 = await bad.result().catch((e: unknown) => e);
    const e2 = await bad.result().catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(RemoteError);
    expect(e2).toBe(e1);
    expect(await bad.exception()).toBe(e1);
    const good = pool.submit(task('add'), 2, 2);
    expect(await good.exception()).toBeUndefined();
    expect(await good.result()).toBe(4);
  });

  it('result(timeout) and exception(timeout) throw TimeoutError; bad timeouts throw synchronously', async () => {
    const f = pool.submit(task('sleepThen'), 100, 'v');
    await expect(f.result(5)).rejects.toBeInstanceOf(TimeoutError);
    await expect(f.exception(5)).rejects.toBeInstanceOf(TimeoutError);
    expect(() => f.result(-1)).toThrow(RangeError);
    expect(() => f.exception('1' as never)).toThrow(TypeError);
    expect(await f.result()).toBe('v');
  });

  it('a cancelled future throws CancelledError from result() and exception()', async () => {
    const busy = pool.submit(task('sleepThen'), 50, 'busy');
    const f = pool.submit(task('add'), 1, 1);
    expect(f.cancel()).toBe(true);
    await expect(f.result()).rejects.toBeInstanceOf(CancelledError);
    await expect(f.exception()).rejects.toBeInstanceOf(CancelledError);
    expect(String(f)).toMatch(/cancelled/);
    await busy.result();
  });
});

describe('Future done callbacks', () => {
  it('run once each, in order of addition, asynchronously, even when added after completion', async () => {
    const f = pool.submit(task('add'), 3, 4);
    const log: string[] = [];
    f.addDoneCallback((x) => log.push(`1:${x === f}`));
    f.addDoneCallback(() => log.push('2'));
    await f.result();
    await sleep(0);
    expect(log).toEqual(['1:true', '2']);
    f.addDoneCallback(() => log.push('3'));
    expect(log).toEqual(['1:true', '2']);
    await sleep(0);
    await sleep(5);
    expect(log).toEqual(['1:true', '2', '3']);
  });

  it('a callback that throws is reported on stderr and does not stop the others', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const f = pool.submit(task('add'), 1, 1);
      const log: number[] = [];
      f.addDoneCallback(function bad() {
        throw new Error('callback boom');
      });
      f.addDoneCallback(() => log.push(2));
      await waitUntil(() => log.length === 1);
      expect(write.mock.calls.map((c) => String(c[0])).join('')).toMatch(/callback bad\(\) threw: Error: callback boom/);
    } finally {
      write.mockRestore();
    }
  });

  it('rejects a callback that is not a function', () => {
    const f = pool.submit(task('add'), 1, 1);
    expect(() => f.addDoneCallback('x' as never)).toThrow(/Expected `cb` to be a function, got `'x'` \(string\)/);
  });
});

describe('Future and greenlets', () => {
  it('awaiting result() is a hub wait named future.result with the task', async () => {
    const f = pool.submit(task('sleepThen'), 80, 'x');
    const g = spawn(() => f.result());
    await waitUntil(() => hub.opsOf(g).length > 0);
    expect(hub.opsOf(g).map(opText)).toEqual(['future.result ThreadPool task sleepThen']);
    expect(await g.get()).toBe('x');
  });

  it('a greenlet killed while awaiting a queued task cancels it: the task never runs', async () => {
    const { dir, cleanup } = tempDir('greenio-fut-');
    try {
      const marker = join(dir, 'ran');
      const busy = pool.submit(task('sleepThen'), 80, 'busy');
      const f = pool.submit((path: string) => process.getBuiltinModule('node:fs').writeFileSync(path, 'ran'), marker);
      const waiter = spawn(() => f.result());
      const other = spawn(() => f.result().catch((e: unknown) => e));
      await sleep(10);
      await waiter.kill();
      expect(f.cancelled()).toBe(true);
      expect(await other.get()).toBeInstanceOf(CancelledError); // everyone awaiting it sees the cancel
      await busy.result();
      expect(await pool.apply(task('add'), [1, 1])).toBe(2);
      expect(existsSync(marker)).toBe(false);
    } finally {
      cleanup();
    }
  });

  it('wait() and iwait() treat futures as waitables', async () => {
    // 500 ms of margin: a 1 ms timeout that a busy machine delays past a 60 ms task saw it done.
    const slow = pool.submit(task('sleepThen'), 500, 'slow');
    const quick = pool.submit(task('add'), 1, 1);
    expect(await wait([slow, quick], { timeout: 1 })).toEqual([]);
    const seen: Future[] = [];
    for await (const f of iwait([quick, slow])) seen.push(f);
    expect(seen).toEqual([slow, quick]); // one worker: slow was first in the queue
  });
});
