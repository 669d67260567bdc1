// Task queues shared by greenlets (p-queue, Bottleneck), through the fixture
// test/fixtures/task-queues.ts: ten greenlets add a task each to a queue of concurrency 2,
// one is killed while its task runs, one while its task waits. Under the patch each task
// runs in its adder's greenlet and the queue's own timers belong to none: the eight
// others complete. The controls show what the rows fix: patched without them, the queue's
// timers died with the killed greenlet and the queue stalled for everybody; unpatched,
// the other greenlets' tasks ran in the killed greenlet's context and failed with its
// GreenletExit.
import { describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';
import { esmHookAvailable } from '../../patches/esm-hook.js';

interface Out {
  outcome: string;
  runningKilled: number;
  queuedKilled: number;
  started: number[];
  finished: number[];
  errors: string[];
  ownFlow: boolean;
  timeout: string;
  timeoutMs: number;
  next: string;
  queuedTimeout: string;
  queuedRan: boolean;
  callbackIn: string;
}

const run = (lib: string, mode: string): Out => runFixture('task-queues.ts', [lib, mode]).json as unknown as Out;

// p-queue is an ES module: its row needs the in-thread module hook (Node >= 22.15).
const LIBS = ['bottleneck', ...(esmHookAvailable ? ['p-queue'] : [])];

describe.each(LIBS)('%s shared by greenlets, under the patch', (lib) => {
  it('a kill ends its greenlet\'s task only: the others run to their end, each in its own greenlet', () => {
    const out = run(lib, 'patched');
    expect(out.outcome).toBe('joined');
    const others = [...Array(10).keys()].filter((i) => i !== out.runningKilled && i !== out.queuedKilled);
    expect([...out.finished].sort((a, b) => a - b)).toEqual(others);
    // The queued task of the killed greenlet never ran; the running one was interrupted.
    expect(out.started).not.toContain(out.queuedKilled);
    expect(out.finished).not.toContain(out.runningKilled);
    expect([...out.errors].sort()).toEqual([`${out.runningKilled}: GreenletExit`, `${out.queuedKilled}: GreenletExit`].sort());
    expect(out.ownFlow).toBe(true);
    // withTimeout around a task that outlasts it returns on time, and the queue goes on.
    expect(out.timeout).toBe('TimeoutError');
    expect(out.timeoutMs).toBeLessThan(1500);
    expect(out.next).toBe('next ran');
    // A task still queued at its withTimeout's deadline is dropped when its turn comes.
    expect(out.queuedTimeout).toBe('TimeoutError');
    expect(out.queuedRan).toBe(false);
    if (lib === 'bottleneck') expect(out.callbackIn).toBe('submitter');
  }, 60_000);

  it('the control, patched without its row: the queue stalls for every greenlet', () => {
    const out = run(lib, 'rows-off');
    expect(out.outcome).toBe('stuck');
    expect(out.next).toBe('stuck');
  }, 60_000);
});

describe.each(['bottleneck', 'p-queue'])('%s without the patch (the control)', (lib) => {
  it('other greenlets\' tasks run in the killed greenlet\'s context and fail with its GreenletExit', () => {
    const out = run(lib, 'unpatched');
    expect(out.ownFlow).toBe(false);
    expect(out.errors.length).toBeGreaterThan(2);
  }, 60_000);
});
