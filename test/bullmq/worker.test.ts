// GreenWorker in this (patched) process, against a real redis-server: greenlet per job,
// Timeout and cancellation that abort the job's socket, progress, IO logs, close().
import { once } from 'node:events';
import { connect } from 'node:net';
import { Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GreenWorker, JobCancelledError, parseIOLog, type GreenWorkerOptions } from '../../src/bullmq/index.js';
import { formatRunInfo } from '../../src/instrument/run-info.js';
import { startTrace, stopTrace } from '../../src/instrument/trace.js';
import { patchAll, unpatchAll } from '../../src/monkey.js';
import { sleep } from '../../src/sleep.js';
import { resourcesOf } from '../helpers.js';
import { startRedis, type RedisServer } from './redis.js';
import { silentServer, until, type SilentServer } from './util.js';

patchAll({ warnLate: false });

let redis: RedisServer;
let silent: SilentServer;
const finallyRan: string[] = [];

interface Data {
  kind: 'silent' | 'sleep' | 'progress' | 'wait';
  ms?: number;
}

// One processor for every test, switching on the job's data.
async function processor(job: Job<Data, unknown>): Promise<unknown> {
  try {
    if (job.data.kind === 'silent') {
      const sock = connect(silent.port, '127.0.0.1');
      await once(sock, 'data'); // never comes: only a Timeout or a kill ends this
      return 'unreachable';
    }
    if (job.data.kind === 'progress') {
      await job.updateProgress(42);
      await sleep(10);
      return 'progressed';
    }
    await sleep(job.data.ms ?? 10);
    return job.data.ms ?? 10;
  } finally {
    finallyRan.push(`${job.queueName}:${job.id}`);
  }
}

let n = 0;
async function setup(options: Partial<GreenWorkerOptions<Data, unknown>> = {}): Promise<{ queue: Queue; worker: GreenWorker<Data, unknown> }> {
  const name = `w${++n}`;
  const connection = { url: redis.url };
  const queue = new Queue(name, { connection });
  const worker = new GreenWorker<Data, unknown>(name, processor, { connection, concurrency: 50, ...options });
  worker.on('error', () => {});
  await worker.waitUntilReady({ timeout: 10_000 });
  return { queue, worker };
}

async function stateOf(queue: Queue, id: string): Promise<string> {
  return (await queue.getJob(id))!.getState();
}

beforeAll(async () => {
  redis = await startRedis();
  silent = await silentServer();
});
afterAll(async () => {
  await silent?.stop();
  await redis?.stop();
  unpatchAll();
});

describe('GreenWorker', () => {
  it('runs each job in its own greenlet named <queue>:<jobId>, seen by formatRunInfo and traces, and progress works', async () => {
    const { queue, worker } = await setup();
    startTrace();
    const progress: unknown[] = [];
    worker.on('progress', (_job, p) => progress.push(p));
    const slow = await queue.add('slow', { kind: 'sleep', ms: 1500 });
    await until(() => worker.greenletOf(slow.id!), 10_000, 'the job greenlet');
    expect(worker.greenletOf(slow.id!)!.name).toBe(`${queue.name}:${slow.id}`);
    expect(formatRunInfo()).toContain(`${queue.name}:${slow.id}`);
    // Its function's site is the processor's (this file), not greenio's job wrapper.
    expect(formatRunInfo()).toMatch(new RegExp(`${queue.name}:${slow.id} \\(processor\\)[^\\n]*\\n(?:[^\\n]*\\n)*?[^\\n]*fn processor at [^\\n]*worker\\.test\\.ts:\\d+:\\d+`));
    const p = await queue.add('p', { kind: 'progress' });
    await until(async () => (await stateOf(queue, p.id!)) === 'completed', 10_000, 'the progress job');
    expect((await queue.getJob(p.id!))!.progress).toBe(42);
    expect(progress).toEqual([42]);
    const lanes = stopTrace().filter((e) => e.name === 'thread_name').map((e) => (e.args as { name: string }).name);
    expect(lanes).toEqual(expect.arrayContaining([`${queue.name}:${slow.id} (processor)`, `${queue.name}:${p.id} (processor)`]));
    await worker.close();
    await queue.close();
  });

  it('times a job out with a greenio Timeout: its socket is destroyed, it fails with TimeoutError, retried per attempts', async () => {
    const { queue, worker } = await setup();
    const baseline = resourcesOf('TCPSocketWrap');
    const opened = silent.opened;
    const job = await queue.add('silent', { kind: 'silent' }, { attempts: 2, timeout: 300 } as never);
    await until(async () => (await stateOf(queue, job.id!)) === 'failed', 15_000, 'the job to fail');
    const failed = (await queue.getJob(job.id!))!;
    expect(failed.failedReason).toBe('timed out after 300 ms');
    expect(failed.attemptsMade).toBe(2);
    expect(failed.stacktrace!.join('\n')).toMatch(/TimeoutError/);
    // Two attempts, two connections to the silent server, both closed by the worker.
    expect(silent.opened - opened).toBe(2);
    await until(() => silent.closed === silent.opened, 5000, 'the server to see both sockets closed');
    expect(resourcesOf('TCPSocketWrap')).toBe(baseline);
    expect(finallyRan.filter((id) => id === `${queue.name}:${job.id}`)).toHaveLength(2);
    // The job's IO, per attempt, is in its log.
    const { logs } = await queue.getJobLogs(job.id!);
    expect(logs.filter((l) => l.startsWith('greenio io: '))).toHaveLength(2);
    const io = parseIOLog(logs)!;
    expect(io.kinds['net.socket']?.count).toBe(1);
    expect(io.waitMs).toBeGreaterThanOrEqual(250);
    await worker.close();
    await queue.close();
  });

  it('takes the worker-wide timeout, or a function of the job', async () => {
    const { queue, worker } = await setup({ timeout: (job) => (job.data.ms === 5000 ? 200 : undefined) });
    const slow = await queue.add('s', { kind: 'sleep', ms: 5000 });
    const quick = await queue.add('q', { kind: 'sleep', ms: 300 });
    await until(async () => (await stateOf(queue, slow.id!)) === 'failed' && (await stateOf(queue, quick.id!)) === 'completed', 10_000, 'both jobs');
    expect((await queue.getJob(slow.id!))!.failedReason).toBe('timed out after 200 ms');
    await worker.close();
    await queue.close();
  });

  it('cancelJob() kills the job greenlet: finally runs, its socket is closed, the job fails without retry', async () => {
    const { queue, worker } = await setup();
    const opened = silent.opened;
    const job = await queue.add('silent', { kind: 'silent' }, { attempts: 3 });
    await until(() => silent.opened > opened, 10_000, 'the job to connect');
    expect(worker.cancelJob(job.id!, 'user asked')).toBe(true);
    await until(async () => (await stateOf(queue, job.id!)) === 'failed', 10_000, 'the job to fail');
    const failed = (await queue.getJob(job.id!))!;
    expect(failed.failedReason).toBe('job cancelled: user asked');
    expect(failed.attemptsMade).toBe(1);
    expect(finallyRan).toContain(`${queue.name}:${job.id}`);
    await until(() => silent.closed === silent.opened, 5000, 'the socket to be closed');
    expect(worker.cancelJob('no-such-job')).toBe(false);
    expect(new JobCancelledError('x').code).toBe('GREENIO_JOB_CANCELLED');
    await worker.close();
    await queue.close();
  });

  it('close() lets short jobs finish, then kills slow ones and puts them back in the wait list', async () => {
    const { queue, worker } = await setup();
    const quick = await Promise.all([1, 2].map(() => queue.add('q', { kind: 'sleep', ms: 200 })));
    const slow = await Promise.all([1, 2].map(() => queue.add('s', { kind: 'sleep', ms: 60_000 })));
    await until(() => worker.running === 4, 10_000, 'four running jobs');
    const t0 = performance.now();
    await worker.close({ timeout: 800 });
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(700);
    expect(took).toBeLessThan(8000);
    for (const j of quick) expect(await stateOf(queue, j.id!)).toBe('completed');
    for (const j of slow) {
      expect(await stateOf(queue, j.id!)).toBe('waiting');
      expect((await queue.getJob(j.id!))!.attemptsMade).toBe(0);
      expect(finallyRan).toContain(`${queue.name}:${j.id}`);
    }
    expect(worker.running).toBe(0);
    expect(worker.bullmq.closing).toBeTruthy();
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it('logs the IO line of every attempt BullMQ keeps, and none for a job its completion deletes', async () => {
    // Which jobs the worker sends a log line for: BullMQ's own Job.log, observed (it still runs).
    const logged: string[] = [];
    const log = Job.prototype.log;
    Job.prototype.log = function (this: Job, row: string) {
      if (row.startsWith('greenio io: ')) logged.push(String(this.id));
      return log.call(this, row);
    };
    try {
      const { queue, worker } = await setup({ removeOnComplete: { count: 0 } });
      const add = (name: string, opts: object) => queue.add(name, { kind: 'sleep', ms: 5 }, opts).then((j) => j.id!);
      const kept = [await add('own false', { removeOnComplete: false }), await add('own 5', { removeOnComplete: 5 }), await add('own age', { removeOnComplete: { age: 60 } })];
      const deleted = [await add('worker count 0', {}), await add('own true', { removeOnComplete: true }), await add('own 0', { removeOnComplete: 0 })];
      // A failure is kept by removeOnFail, not removeOnComplete: its line is written.
      const failed = await queue.add('fails', { kind: 'sleep', ms: 5000 }, { removeOnComplete: true, timeout: 50 } as never);
      await until(async () => (await queue.getJobCounts('completed')).completed === kept.length && (await queue.getJob(failed.id!))?.failedReason !== undefined, 10_000, 'the jobs to finish');
      await until(() => logged.length >= kept.length + 1, 5000, 'the log lines');
      expect(logged.sort()).toEqual([...kept, failed.id!].sort());
      for (const id of kept) expect(parseIOLog((await queue.getJobLogs(id)).logs)?.kinds.sleep?.count).toBe(1);
      expect(parseIOLog((await queue.getJobLogs(failed.id!)).logs)?.kinds.sleep?.count).toBe(1);
      for (const id of deleted) expect(await queue.getJob(id)).toBeUndefined();
      await worker.close();
      await queue.close();
    } finally {
      Job.prototype.log = log;
    }
  });

  it('checks its arguments', () => {
    const connection = { url: redis.url };
    expect(() => new GreenWorker('', processor, { connection })).toThrow(/Expected `queueName` to be a non-empty string/);
    expect(() => new GreenWorker('q', 42 as never, { connection })).toThrow(TypeError);
    expect(() => new GreenWorker('q', processor, {} as never)).toThrow(/options.connection/);
    expect(() => new GreenWorker('q', processor, { connection, concurrency: 0 })).toThrow(RangeError);
    expect(() => new GreenWorker('q', processor, { connection, timeout: -1 })).toThrow(RangeError);
    expect(() => new GreenWorker('q', processor, { connection, timeout: '1s' as never })).toThrow(TypeError);
    expect(() => new GreenWorker('q', processor, { connection, ioLog: 'yes' as never })).toThrow(TypeError);
  });
});
