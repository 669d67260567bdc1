import { join } from 'node:path';
import { isMainThread, threadId } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ThreadPool, WorkerExitError } from '../src/workers/threadpool.js';
import type { Future } from '../src/workers/future.js';
import { spawn } from '../src/greenlet.js';
import { sleep } from '../src/sleep.js';
import { withTimeout } from '../src/with-timeout.js';
import { iwait, wait } from '../src/wait.js';
import { CancelledError, GreenletExit, PoolClosedError, QueueFull, RemoteError } from '../src/errors.js';
import { TimeoutError } from '../src/timeout.js';
import { tempDir, timersOf } from './helpers.js';
import { lineCount, task, waitUntil, closingAfterEach } from './fixtures/pools-util.js';
import { runFixture } from './run-fixture.js';

const pool = closingAfterEach(afterEach, (o?: ConstructorParameters<typeof ThreadPool>[0]) => new ThreadPool(o));

describe('ThreadPool: running tasks', () => {
  it('runs a function task on another thread and resolves its future', async () => {
    const p = pool({ size: 2 });
    const f = p.submit((a: number, b: number) => a + b, 2, 3);
    expect(await f.result()).toBe(5);
    expect(f.done()).toBe(true);
    const where = await p.apply(() => process.getBuiltinModule('node:worker_threads').threadId);
    expect(where).not.toBe(threadId);
  });

  it('runs a module export given as { file, name }, the default export when name is left out', async () => {
    const p = pool({ size: 1 });
    expect(await p.apply(task('add'), [20, 22])).toBe(42);
    expect(await p.apply({ file: task('add').file }, [21])).toBe(42);
    expect(await p.apply({ file: task('add').file.pathname, name: 'add' }, [1, 1])).toBe(2);
  });

  it('apply resolves to the value and map to the values in input order', async () => {
    const p = pool({ size: 3 });
    expect(await p.apply(async (ms: number) => { await new Promise((r) => setTimeout(r, ms)); return ms; }, [5])).toBe(5);
    expect(await p.map(task('delay'), [30, 1, 15, 5])).toEqual([30, 1, 15, 5]);
    expect(await p.map((n: number) => n * n, [3, 1, 2])).toEqual([9, 1, 4]);
    async function* gen(): AsyncGenerator<number> {
      for (let i = 0; i < 5; i++) yield i;
    }
    expect(await p.map((n: number) => n + 1, gen())).toEqual([1, 2, 3, 4, 5]);
  });

  it('runs 10,000 tiny tasks and gives every result to its own future', async () => {
    const p = pool({ size: 4 });
    const fs: Future<number>[] = [];
    for (let i = 0; i < 10_000; i++) fs.push(p.submit((x: number) => x + 1, i));
    await wait(fs);
    expect(fs.every((f, i) => f.done() && f.running() === false)).toBe(true);
    expect(await Promise.all(fs.map((f) => f.result()))).toEqual(fs.map((_, i) => i + 1));
  });

  it('round-trips values through the structured clone (Map, Date, bigint, typed arrays)', async () => {
    const p = pool({ size: 1 });
    const r = await p.apply<ReturnType<typeof import('./fixtures/pools-tasks.js').rich>>(task('rich'));
    expect(r.map.get('a')).toBe(1);
    expect(r.date).toEqual(new Date(0));
    expect(r.big).toBe(2n ** 70n);
    expect([...r.set]).toEqual([1, 2]);
    expect([...r.bytes]).toEqual([1, 2, 3]);
  });

  it('transfer() moves a buffer to the worker and back instead of copying it', async () => {
    const p = pool({ size: 1 });
    const buf = new Uint8Array(1024);
    const back = await p.apply<Uint8Array>(task('roundTrip'), [ThreadPool.transfer(buf)]);
    expect(buf.byteLength).toBe(0); // moved away: the sender lost it
    expect(back.byteLength).toBe(1024);
    expect(back[0]).toBe(42);
  });

  it('wait() and iwait() accept futures', async () => {
    const p = pool({ size: 2 });
    // Far apart, so that a slow start of the second worker cannot swap them.
    const slow = p.submit(task('sleepThen'), 1500, 'slow');
    const fast = p.submit(task('sleepThen'), 5, 'fast');
    const first = await wait([slow, fast], { count: 1 });
    expect(first).toEqual([fast]);
    const order: unknown[] = [];
    for await (const f of iwait([slow, fast])) order.push(f);
    expect(order).toEqual([fast, slow]);
  });
});

describe('ThreadPool: errors', () => {
  it('a task that throws rejects with RemoteError carrying the remote name, message, code and stack', async () => {
    const p = pool({ size: 1 });
    const e = (await p.submit(task('fail'), 'no luck').exception()) as RemoteError;
    expect(e).toBeInstanceOf(RemoteError);
    expect(e.remoteName).toBe('TaskError');
    expect(e.remoteMessage).toBe('no luck');
    expect(e.remoteCode).toBe('E_TASK');
    expect(e.remoteStack).toMatch(/pools-tasks\.ts/);
    expect(e.stack).toMatch(/remote stack/);
    await expect(p.apply(() => { throw new RangeError('inline'); })).rejects.toMatchObject({ remoteName: 'RangeError', remoteMessage: 'inline' });
  });

  it('an argument that cannot be cloned throws TypeError at submit, quoting it', () => {
    const p = pool({ size: 1 });
    expect(() => p.submit((x: unknown) => x, { f: () => 1 })).toThrow(TypeError);
    expect(() => p.submit((x: unknown) => x, Symbol('s'))).toThrow(/Argument 1 .*Symbol\(s\).*symbol/);
    expect(() => p.submit((_a: number, x: unknown) => x, 1, new WeakMap())).toThrow(/Argument 2 .*WeakMap/);
    const detached = new ArrayBuffer(8);
    structuredClone(detached, { transfer: [detached] });
    expect(() => p.submit((x: unknown) => x, detached)).toThrow(/Argument 1 .*ArrayBuffer/);
  });

  it('a result that cannot be cloned fails its future with a RemoteError TypeError', async () => {
    const p = pool({ size: 1 });
    await expect(p.apply(task('unclonable'))).rejects.toMatchObject({ remoteName: 'TypeError', remoteMessage: expect.stringMatching(/cannot be sent back/) });
    expect(await p.apply(task('add'), [1, 2])).toBe(3); // the worker is fine
  });

  it('bad tasks and options throw TypeError or RangeError synchronously', () => {
    expect(() => new ThreadPool({ size: 0 })).toThrow(RangeError);
    expect(() => new ThreadPool({ size: '2' as never })).toThrow(/Expected `size` to be an integer >= 1, got `'2'` \(string\)/);
    expect(() => new ThreadPool({ maxQueue: -1 })).toThrow(RangeError);
    expect(() => new ThreadPool({ idleTimeout: -5 })).toThrow(RangeError);
    const p = pool({ size: 1 });
    expect(() => p.submit(42 as never)).toThrow(/Expected `task` to be a function or a \{ file, name \} object, got `42` \(number\)/);
    expect(() => p.submit(Math.max as never)).toThrow(/native and bound functions/);
    expect(() => p.submit({ f() { return 1; } }.f as never)).toThrow(/standalone function/);
    expect(() => p.submit({ file: 7 } as never)).toThrow(/task\.file/);
    expect(() => p.apply((x: number) => x, 5 as never)).toThrow(/Expected `args` to be an array/);
    expect(() => p.map((x: number) => x, 5 as never)).toThrow(TypeError);
  });

  it('a module that cannot be loaded fails the task with the loader error', async () => {
    const p = pool({ size: 1 });
    await expect(p.apply({ file: new URL('./fixtures/pools-missing.ts', import.meta.url) })).rejects.toBeInstanceOf(RemoteError);
    await expect(p.apply(task('nope'))).rejects.toMatchObject({ remoteName: 'TypeError', remoteMessage: expect.stringMatching(/`nope` .* is not a function/) });
  });
});

describe('ThreadPool: crashes', () => {
  it('a worker that exits mid-task fails only that task, and the next task runs on a new thread', async () => {
    const p = pool({ size: 1 });
    const before = await p.apply<{ threadId: number }>(task('whoami'));
    const dying = p.submit(task('exitWith'), 3);
    const next = p.submit(task('add'), 1, 2);
    const e = (await dying.exception()) as WorkerExitError;
    expect(e).toBeInstanceOf(WorkerExitError);
    expect(e.exitCode).toBe(3);
    expect(e.message).toMatch(/exited with code 3 while running this task/);
    expect(await next.result()).toBe(3);
    const after = await p.apply<{ threadId: number }>(task('whoami'));
    expect(after.threadId).not.toBe(before.threadId);
  });

  it('an uncaught exception in a timer inside the worker fails the running task with that error', async () => {
    const p = pool({ size: 1 });
    const e = (await p.submit(task('crashInTimer'), 'tick tock').exception()) as WorkerExitError;
    expect(e).toBeInstanceOf(WorkerExitError);
    expect(e.message).toMatch(/uncaught TypeError: tick tock/);
    expect(e.cause).toMatchObject({ message: 'tick tock' });
    expect(await p.apply(task('add'), [2, 2])).toBe(4);
  });
});

describe('ThreadPool: timeouts, cancelling and killing', () => {
  it('result(timeout) throws TimeoutError and the task keeps running', async () => {
    const p = pool({ size: 1 });
    const f = p.submit(task('sleepThen'), 150, 'late');
    await expect(f.result(10)).rejects.toBeInstanceOf(TimeoutError);
    expect(f.cancelled()).toBe(false);
    expect(await f.result()).toBe('late');
  });

  it('cancel() removes a queued task (CancelledError) but not a running one', async () => {
    const p = pool({ size: 1 });
    const running = p.submit(task('sleepThen'), 100, 'ran');
    const queued = p.submit(task('add'), 1, 1);
    await waitUntil(() => running.running());
    expect(queued.running()).toBe(false);
    expect(queued.cancel()).toBe(true);
    expect(queued.cancel()).toBe(true); // already cancelled
    expect(queued.cancelled() && queued.done()).toBe(true);
    await expect(queued.result()).rejects.toBeInstanceOf(CancelledError);
    await expect(queued.exception()).rejects.toBeInstanceOf(CancelledError);
    expect(running.cancel()).toBe(false);
    expect(await running.result()).toBe('ran');
    expect(running.cancel()).toBe(false); // done
  });

  it('a task handed ahead to a busy worker can still be cancelled until it starts', async () => {
    const p = pool({ size: 1 });
    // Tiny tasks teach the pool to hand several at once to its worker.
    await p.map((x: number) => x, Array.from({ length: 200 }, (_, i) => i));
    const fs = Array.from({ length: 20 }, () => p.submit(task('spin'), 30));
    await waitUntil(() => fs[0]!.running() || fs[0]!.done());
    expect(fs[19]!.running()).toBe(false);
    const last = fs[19]!;
    expect(last.cancel()).toBe(true);
    await wait(fs.slice(0, 19));
    expect(fs.slice(0, 19).every((f) => f.done() && !f.cancelled())).toBe(true);
    expect(last.cancelled()).toBe(true);
  });

  it('killing the greenlet that awaits a running task terminates its thread: a new one takes over, the side effect stops', async () => {
    const { dir, cleanup } = tempDir('greenio-tp-');
    try {
      const p = pool({ size: 1 });
      const before = await p.apply<{ threadId: number }>(task('whoami'));
      const file = join(dir, 'ticks');
      const f = p.submit(task('tick'), file, 5);
      const g = spawn(() => f.result());
      await waitUntil(() => lineCount(file) >= 3);
      await g.kill();
      expect(g.value).toBeInstanceOf(GreenletExit);
      expect(f.cancelled()).toBe(true);
      await expect(f.result()).rejects.toThrow(/cancelled while it ran/);
      const after = await p.apply<{ threadId: number }>(task('whoami'));
      expect(after.threadId).not.toBe(before.threadId);
      const n = lineCount(file);
      await sleep(100);
      expect(lineCount(file)).toBe(n);
    } finally {
      cleanup();
    }
  });

  it('killing a greenlet awaiting map() terminates the tasks it runs and cancels the queued ones', async () => {
    const p = pool({ size: 2 });
    const g = spawn(() => p.map(task('spin'), [20_000, 20_000, 20_000]));
    await waitUntil(() => p.workers === 2 && p.queued === 1);
    await sleep(20);
    const t0 = performance.now();
    await g.kill();
    expect(await p.map(task('add'), [1, 2])).toEqual([NaN, NaN]); // add(x) with one argument
    expect(performance.now() - t0).toBeLessThan(10_000); // not after the 20 s spins
    expect(p.queued).toBe(0);
  });

  it('a Timeout around result() cancels its queued task, and its callbacks run', async () => {
    const p = pool({ size: 1 });
    const busy = p.submit(task('sleepThen'), 150, 'busy');
    let ran = false;
    const f = p.submit(task('add'), 1, 2);
    f.addDoneCallback(() => (ran = true));
    await expect(withTimeout(20, () => f.result())).rejects.toBeInstanceOf(TimeoutError);
    expect(f.cancelled()).toBe(true);
    expect(await busy.result()).toBe('busy');
    await sleep(0);
    expect(ran).toBe(true); // cancelled futures run their callbacks too
  });
});

describe('ThreadPool: done callbacks', () => {
  it('run in the submitting thread, in order, once each, while other greenlets keep running', async () => {
    const p = pool({ size: 1 });
    let ticks = 0;
    let stop = false;
    const ticker = spawn(async () => {
      while (!stop) {
        await sleep(5);
        ticks++;
      }
    });
    const f = p.submit(task('spin'), 400);
    const calls: string[] = [];
    let ticksAtStart = -1;
    let ticksAtDone = -1;
    f.addDoneCallback(() => {
      calls.push(`a main=${isMainThread} t=${threadId}`);
      ticksAtDone = ticks;
    });
    f.addDoneCallback(() => calls.push('b'));
    await waitUntil(() => f.running(), 15_000, 1);
    ticksAtStart = ticks;
    await waitUntil(() => calls.length === 2); // nobody awaits the future itself
    expect(calls).toEqual([`a main=${isMainThread} t=${threadId}`, 'b']);
    expect(ticksAtDone - ticksAtStart).toBeGreaterThan(5); // ~80 at 5 ms over 400 ms, if the machine is idle
    let late = 0;
    f.addDoneCallback(() => late++);
    expect(late).toBe(0); // never inside addDoneCallback
    await sleep(0);
    expect(late).toBe(1);
    await sleep(20);
    expect(calls.length).toBe(2);
    expect(late).toBe(1);
    stop = true;
    await ticker.join();
  });
});

describe('ThreadPool: back-pressure, close, idle workers', () => {
  it('with maxQueue, submit throws QueueFull and apply waits for room', async () => {
    const p = pool({ size: 1, maxQueue: 1 });
    const a = p.submit(task('sleepThen'), 100, 'a');
    await waitUntil(() => a.running());
    const b = p.submit(task('add'), 1, 1);
    expect(p.queued).toBe(1);
    expect(() => p.submit(task('add'), 2, 2)).toThrow(QueueFull);
    const c = p.apply(task('add'), [3, 3]); // waits for room, then for its result
    expect(await c).toBe(6);
    expect(await b.result()).toBe(2);
    expect(await a.result()).toBe('a');
  });

  it('close() waits for running and queued tasks, refuses new ones, and leaves no thread or timer behind', async () => {
    const timers = timersOf();
    const p = new ThreadPool({ size: 2 });
    const fs = [p.submit(task('sleepThen'), 80, 1), p.submit(task('sleepThen'), 80, 2), p.submit(task('sleepThen'), 10, 3)];
    await waitUntil(() => fs[0]!.running());
    expect(process.getActiveResourcesInfo()).toContain('MessagePort');
    const closing = p.close();
    expect(() => p.submit(task('add'), 1, 1)).toThrow(PoolClosedError);
    await expect(p.apply(task('add'), [1, 1])).rejects.toBeInstanceOf(PoolClosedError);
    await expect(p.map(task('add'), [1])).rejects.toBeInstanceOf(PoolClosedError);
    await closing;
    expect(fs.map((f) => f.done() && !f.cancelled())).toEqual([true, true, true]);
    expect(p.workers).toBe(0);
    expect(process.getActiveResourcesInfo().filter((r) => r === 'MessagePort' || r === 'Worker')).toEqual([]);
    await p.close(); // again: resolves at once
    expect(timersOf()).toBeLessThanOrEqual(timers);
  });

  it('close({ timeout }) cancels queued tasks and terminates running ones once it expires', async () => {
    const p = new ThreadPool({ size: 1 });
    const running = p.submit(task('spin'), 10_000);
    const queued = p.submit(task('add'), 1, 1);
    await waitUntil(() => running.running());
    await p.close({ timeout: 50 });
    expect(running.cancelled()).toBe(true);
    expect(queued.cancelled()).toBe(true);
    expect(p.workers).toBe(0);
  });

  it('idle workers exit after idleTimeout and new ones start on demand', async () => {
    const p = pool({ size: 2, idleTimeout: 50 });
    const before = await p.apply<{ threadId: number }>(task('whoami'));
    expect(p.workers).toBe(1);
    await waitUntil(() => p.workers === 0);
    const after = await p.apply<{ threadId: number }>(task('whoami'));
    expect(after.threadId).not.toBe(before.threadId);
  });

  it('an idle pool does not keep the process alive (own process)', () => {
    const r = runFixture('pools-idle-exit.ts', ['thread']);
    expect(r.status).toBe(0);
    expect(r.json).toMatchObject({ result: 42, exitedBy: 'itself' });
  });

  it('a future is not a thenable: awaiting it gives the future', async () => {
    const p = pool({ size: 1 });
    const f = p.submit(task('add'), 1, 1);
    expect('then' in f).toBe(false);
    expect(await Promise.resolve(f)).toBe(f);
    await f.result();
  });

  it('reports the death of an idle worker on stderr', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const p = pool({ size: 1 });
      await p.apply(() => {
        setTimeout(() => {
          throw new Error('late boom');
        }, 20);
      });
      await waitUntil(() => write.mock.calls.some((c) => String(c[0]).includes('late boom')));
      expect(String(write.mock.calls.find((c) => String(c[0]).includes('late boom'))![0])).toMatch(/idle ThreadPool worker .* died/);
      expect(await p.apply(task('add'), [1, 2])).toBe(3);
    } finally {
      write.mockRestore();
    }
  });
});

describe('ThreadPool: task modules written in TypeScript', () => {
  it('loads a .ts task module when the app runs with --import tsx (workers get the loader too)', () => {
    // The fixture imports the built package ('greenio'), as an application does.
    const r = runFixture('pools-ts-task.ts');
    expect(r.json).toEqual({ value: 42 });
  });
});
