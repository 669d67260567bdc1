import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessPool } from '../src/workers/processpool.js';
import { ThreadPool, WorkerExitError } from '../src/workers/threadpool.js';
import { spawn } from '../src/greenlet.js';
import { sleep } from '../src/sleep.js';
import { CancelledError, PoolClosedError, RemoteError } from '../src/errors.js';
import { TimeoutError } from '../src/timeout.js';
import { tempDir } from './helpers.js';
import { alive, lineCount, task, waitUntil, closingAfterEach } from './fixtures/pools-util.js';
import { runFixture } from './run-fixture.js';

type Who = { threadId: number; pid: number };

const pool = closingAfterEach(afterEach, (o?: ConstructorParameters<typeof ProcessPool>[0]) => new ProcessPool(o));

describe('ProcessPool: running tasks', () => {
  it('runs function and module tasks in child processes', async () => {
    const p = pool({ size: 2 });
    expect(await p.submit((a: number, b: number) => a * b, 6, 7).result()).toBe(42);
    const who = await p.apply<Who>(task('whoami'));
    expect(who.pid).not.toBe(process.pid);
    expect(await p.map(task('default'), [1, 2, 3])).toEqual([2, 4, 6]);
  });

  it('round-trips values with the structured-clone algorithm (advanced serialization)', async () => {
    const p = pool({ size: 1 });
    const r = await p.apply<ReturnType<typeof import('./fixtures/pools-tasks.js').rich>>(task('rich'));
    expect(r.map.get('a')).toBe(1);
    expect(r.date).toEqual(new Date(0));
    expect(r.big).toBe(2n ** 70n);
    expect([...r.set]).toEqual([1, 2]);
    expect([...r.bytes]).toEqual([1, 2, 3]);
    const sent = new Uint8Array([7, 8, 9]);
    const back = await p.apply<Uint8Array>(task('roundTrip'), [ThreadPool.transfer(sent)]);
    expect([...back]).toEqual([42, 8, 9]);
    expect([...sent]).toEqual([7, 8, 9]); // processes copy: the sender keeps its buffer
  });

  it('a task that throws rejects with RemoteError carrying the remote name, message and stack', async () => {
    const p = pool({ size: 1 });
    const e = (await p.submit(task('fail'), 'in a child').exception()) as RemoteError;
    expect(e).toBeInstanceOf(RemoteError);
    expect(e.remoteName).toBe('TaskError');
    expect(e.remoteMessage).toBe('in a child');
    expect(e.remoteCode).toBe('E_TASK');
    expect(e.remoteStack).toMatch(/pools-tasks\.ts/);
  });

  it('an argument that cannot be serialized throws TypeError at submit, quoting it', () => {
    const p = pool({ size: 1 });
    expect(() => p.submit((x: unknown) => x, { f: () => 1 })).toThrow(/Argument 1 .*child process/);
    expect(() => p.submit((x: unknown) => x, () => 1)).toThrow(TypeError);
  });

  it('result(timeout) throws TimeoutError and the task keeps running', async () => {
    const p = pool({ size: 1 });
    const f = p.submit(task('sleepThen'), 150, 'late');
    await expect(f.result(10)).rejects.toBeInstanceOf(TimeoutError);
    expect(await f.result()).toBe('late');
  });
});

describe('ProcessPool: crashes and kills', () => {
  it('a child that exits mid-task fails only that task; the next runs in a new child', async () => {
    const p = pool({ size: 1 });
    const before = await p.apply<Who>(task('whoami'));
    const dying = p.submit(task('exitWith'), 3);
    const next = p.submit(task('add'), 2, 3);
    const e = (await dying.exception()) as WorkerExitError;
    expect(e).toBeInstanceOf(WorkerExitError);
    expect(e.exitCode).toBe(3);
    expect(e.workerId).toBe(before.pid);
    expect(await next.result()).toBe(5);
    const after = await p.apply<Who>(task('whoami'));
    expect(after.pid).not.toBe(before.pid);
    expect(alive(before.pid)).toBe(false);
  });

  it('an uncaught exception in a timer inside the child fails the running task with that error', async () => {
    const p = pool({ size: 1 });
    const e = (await p.submit(task('crashInTimer'), 'child timer').exception()) as WorkerExitError;
    expect(e).toBeInstanceOf(WorkerExitError);
    expect(e.exitCode).toBe(1);
    expect(e.message).toMatch(/uncaught TypeError: child timer/);
    expect(await p.apply(task('add'), [1, 1])).toBe(2);
  });

  it('a child killed by a signal mid-task fails that task with the signal', async () => {
    const p = pool({ size: 1 });
    const { pid } = await p.apply<Who>(task('whoami'));
    const f = p.submit(task('spin'), 10_000);
    await waitUntil(() => f.running());
    await sleep(20);
    process.kill(pid, 'SIGKILL');
    const e = (await f.exception()) as WorkerExitError;
    expect(e).toBeInstanceOf(WorkerExitError);
    expect(e.signal).toBe('SIGKILL');
    expect(e.message).toMatch(/killed by SIGKILL/);
  });

  it('killing the greenlet that awaits a running task kills its child: a new one takes over, the side effect stops', async () => {
    const { dir, cleanup } = tempDir('greenio-pp-');
    try {
      const p = pool({ size: 1 });
      const before = await p.apply<Who>(task('whoami'));
      const file = join(dir, 'ticks');
      const f = p.submit(task('tick'), file, 5);
      const g = spawn(() => f.result());
      await waitUntil(() => lineCount(file) >= 3);
      await g.kill();
      await expect(f.result()).rejects.toBeInstanceOf(CancelledError);
      await waitUntil(() => !alive(before.pid));
      const after = await p.apply<Who>(task('whoami'));
      expect(after.pid).not.toBe(before.pid);
      const n = lineCount(file);
      await sleep(100);
      expect(lineCount(file)).toBe(n);
    } finally {
      cleanup();
    }
  });
});

describe('ProcessPool: close and idle children', () => {
  it('close() waits for running and queued tasks, refuses new ones, and leaves no child behind', async () => {
    const p = new ProcessPool({ size: 2 });
    const pids = await p.map(task('whoami'), [1, 2]).then((ws) => (ws as Who[]).map((w) => w.pid));
    const fs = [p.submit(task('sleepThen'), 80, 'a'), p.submit(task('sleepThen'), 80, 'b'), p.submit(task('sleepThen'), 10, 'c')];
    await waitUntil(() => fs[0]!.running());
    const closing = p.close();
    expect(() => p.submit(task('add'), 1, 1)).toThrow(PoolClosedError);
    await closing;
    expect(await Promise.all(fs.map((f) => f.result()))).toEqual(['a', 'b', 'c']);
    expect(p.workers).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(process.getActiveResourcesInfo().filter((r) => r === 'ProcessWrap')).toEqual([]);
  });

  it('idle children exit after idleTimeout', async () => {
    const p = pool({ size: 1, idleTimeout: 50 });
    const { pid } = await p.apply<Who>(task('whoami'));
    await waitUntil(() => p.workers === 0 && !alive(pid));
    expect((await p.apply<Who>(task('whoami'))).pid).not.toBe(pid);
  });

  it('an idle pool does not keep the process alive (own process)', () => {
    const r = runFixture('pools-idle-exit.ts', ['process']);
    expect(r.status).toBe(0);
    expect(r.json).toMatchObject({ result: 42, exitedBy: 'itself' });
  });

  it('rejects bad options synchronously', () => {
    expect(() => new ProcessPool({ env: 5 as never })).toThrow(TypeError);
    expect(() => new ProcessPool({ execArgv: [1] as never })).toThrow(/execArgv/);
  });
});
