// `greenio worker` (workerCommand) with real processes against a real redis-server:
// 1,000 jobs through 2 processes, a worker machine killed mid-job and recovered by
// BullMQ's stalled-job check, a graceful stop, and clear errors for bad input.
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIOLog } from '../../src/bullmq/index.js';
import { freePort, startRedis, type RedisServer } from './redis.js';
import { alive, countingServer, silentServer, startProc, until, type CountingServer, type Proc } from './util.js';

const CLI = ['--import', 'tsx', 'test/fixtures/bullmq-cli.ts'];
const PROCESSOR = 'test/fixtures/bullmq-processor.ts';

let redis: RedisServer;
let http: CountingServer;
const procs: Proc[] = [];

function worker(args: string[], options: { detached?: boolean } = {}): Proc {
  const p = startProc(process.execPath, [...CLI, '--redis', redis.url, ...args], {}, options);
  procs.push(p);
  return p;
}

/** Pids of a group's worker processes, from its ready line. */
async function readyPids(p: Proc): Promise<number[]> {
  const line = await p.waitFor(/process\(es\) x .*\(pids [\d, ]+\)/, 30_000);
  return /\(pids ([\d, ]+)\)/.exec(line)![1]!.split(', ').map(Number);
}

beforeAll(async () => {
  redis = await startRedis();
  http = await countingServer(5);
});
afterAll(async () => {
  for (const p of procs) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
    try {
      process.kill(p.detached ? -p.child.pid! : p.child.pid!, 'SIGKILL');
    } catch {
      p.child.kill('SIGKILL');
    }
  }
  await http?.stop();
  await redis?.stop();
});

describe('greenio worker', () => {
  it('runs 1,000 jobs through 2 processes, each job doing HTTP on loopback, every one completed exactly once', async () => {
    const queue = new Queue('thousand', { connection: { url: redis.url } });
    const p = worker(['--queue', 'thousand', '--concurrency', '100', '--processes', '2', '--timeout', '5000', PROCESSOR]);
    const pids = await readyPids(p);
    expect(pids).toHaveLength(2);
    await queue.addBulk(Array.from({ length: 1000 }, () => ({ name: 'http', data: { kind: 'http', port: http.port } })));
    await until(async () => (await queue.getJobCounts('completed')).completed === 1000, 60_000, '1,000 completed jobs');
    const done = await queue.getCompleted(0, -1);
    expect(new Set(done.map((j) => j.id)).size).toBe(1000);
    // Exactly once: one request per job id reached the server.
    const paths = done.map((j) => `/job/thousand/${j.id}`);
    expect(paths.every((path) => http.hits.get(path) === 1)).toBe(true);
    const byPid = new Map<number, number>();
    for (const j of done) byPid.set(j.returnvalue.pid, (byPid.get(j.returnvalue.pid) ?? 0) + 1);
    expect([...byPid.keys()].sort()).toEqual([...pids].sort());
    expect((await queue.getJobCounts('failed')).failed).toBe(0);
    const io = parseIOLog((await queue.getJobLogs(done[0]!.id!)).logs)!;
    expect(io.kinds['http.request']?.count).toBe(1);
    // Under the preload, a job's own timeout (300 ms, over --timeout's 5 s) destroys the
    // socket it waits on, and BullMQ retries it per its attempts.
    const silent = await silentServer();
    const stuck = await queue.add('silent', { kind: 'silent', port: silent.port }, { attempts: 2, timeout: 300 } as never);
    await until(async () => (await stuck.getState()) === 'failed', 20_000, 'the silent job to fail twice');
    const failed = (await queue.getJob(stuck.id!))!;
    expect([failed.failedReason, failed.attemptsMade]).toEqual(['timed out after 300 ms', 2]);
    expect(silent.opened).toBe(2);
    await until(() => silent.closed === 2, 5000, 'both sockets closed by the worker');
    await silent.stop();
    p.child.kill('SIGTERM');
    expect(await p.exited(30_000)).toEqual({ code: 0, signal: null });
    await until(() => pids.every((pid) => !alive(pid)), 10_000, 'both workers to exit');
    await queue.close();
  }, 120_000);

  it('recovers the jobs of a worker machine killed with SIGKILL mid-job through BullMQ\'s stalled-job check: nothing lost', async () => {
    const connection = { url: redis.url };
    const queue = new Queue('stall', { connection });
    const fast = ['--lock-duration', '1000', '--stalled-interval', '500'];
    // Two "machines": separate process trees, the first in its own process group; the
    // second starts once the first is dead, so only the stalled-job check can save its jobs.
    const doomed = worker(['--queue', 'stall', '-c', '10', ...fast, PROCESSOR], { detached: true });
    const [doomedPid] = await readyPids(doomed);
    const jobs = await queue.addBulk(Array.from({ length: 30 }, () => ({ name: 'hold', data: { kind: 'hold', ms: 1500, port: http.port } })));
    await until(async () => (await queue.getJobCounts('active')).active === 10, 15_000, 'ten jobs active on the first machine');
    const held = (await queue.getActive()).map((j) => j.id!);
    process.kill(-doomed.child.pid!, 'SIGKILL'); // the whole machine: primary and worker
    await doomed.exited(10_000);
    await until(() => !alive(doomedPid!), 10_000, 'the first machine\'s worker to die');
    const survivor = worker(['--queue', 'stall', '-c', '10', ...fast, PROCESSOR]);
    const [survivorPid] = await readyPids(survivor);
    await until(async () => {
      const c = await queue.getJobCounts('completed', 'failed');
      return c.completed + c.failed === 30;
    }, 60_000, 'every job completed or failed');
    // Every job id is accounted for: completed, or failed with a reason.
    for (const j of jobs) {
      const job = (await queue.getJob(j.id!))!;
      const state = await job.getState();
      if (state === 'failed') expect(job.failedReason).toMatch(/stalled/);
      else expect(state).toBe('completed');
    }
    const completed = await queue.getCompleted(0, -1);
    expect(completed.length).toBeGreaterThanOrEqual(30 - held.length);
    // The jobs the dead machine held were recovered and finished by the survivor.
    for (const j of completed.filter((c) => held.includes(c.id!))) {
      expect(j.attemptsStarted).toBe(2); // once on the dead machine, once on the survivor
      expect(j.returnvalue.pid).toBe(survivorPid);
    }
    expect(completed.filter((c) => held.includes(c.id!)).length).toBe(held.length);
    survivor.child.kill('SIGTERM');
    expect((await survivor.exited(30_000)).code).toBe(0);
    await queue.close();
  }, 120_000);

  it('stops gracefully on SIGTERM: slow jobs are killed after --close-timeout and go back to the wait list', async () => {
    const queue = new Queue('graceful', { connection: { url: redis.url } });
    const p = worker(['--queue', 'graceful', '-c', '10', '--close-timeout', '500', PROCESSOR]);
    await readyPids(p);
    await queue.addBulk(Array.from({ length: 3 }, () => ({ name: 'hold', data: { kind: 'hold', ms: 60_000, port: http.port } })));
    await until(async () => (await queue.getJobCounts('active')).active === 3, 15_000, 'three active jobs');
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    expect(await p.exited(20_000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await queue.getJobCounts('waiting', 'active', 'failed')).toEqual({ waiting: 3, active: 0, failed: 0 });
    await queue.obliterate({ force: true });
    await queue.close();
  }, 60_000);

  describe('bad input', () => {
    const run = async (args: string[], ms = 30_000) => {
      const p = startProc(process.execPath, [...CLI, ...args]);
      procs.push(p);
      const { code } = await p.exited(ms);
      return { code, out: p.out() };
    };

    it('--help prints the usage', async () => {
      const r = await run(['--help']);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Usage: greenio worker --queue NAME/);
    });

    it('a missing processor, a missing --queue or a bad URL is one line and exit code 2', async () => {
      const missing = await run(['--queue', 'q', 'no/such/processor.js']);
      expect(missing).toEqual({ code: 2, out: "greenio worker: cannot find processor module 'no/such/processor.js'\n" });
      expect((await run([PROCESSOR])).out).toMatch(/--queue NAME is required/);
      const url = await run(['--queue', 'q', '--redis', 'http://x:1', PROCESSOR]);
      expect(url.code).toBe(2);
      expect(url.out).toMatch(/--redis expects a redis:\/\/ or rediss:\/\/ URL with a host, got 'http:\/\/x:1'/);
      expect((await run(['--queue', 'q', '--concurrency', '0', PROCESSOR])).out).toMatch(/--concurrency expects an integer >= 1, got '0'/);
    });

    it('an unreachable Redis is an error naming the address, at once', async () => {
      const port = await freePort();
      const t0 = Date.now();
      const r = await run(['--queue', 'q', '--redis', `redis://127.0.0.1:${port}`, PROCESSOR]);
      expect(r.code).toBe(1);
      expect(r.out).toContain(`cannot reach Redis at redis://127.0.0.1:${port} (127.0.0.1:${port}): ECONNREFUSED`);
      expect(Date.now() - t0).toBeLessThan(15_000);
    });

    it('a processor module without a function, or one that throws on load, stops the command with its reason', async () => {
      const none = await run(['--queue', 'q', '--redis', redis.url, 'test/fixtures/bullmq-bad-noexport.mjs']);
      expect(none.code).toBe(1);
      expect(none.out).toMatch(/could not start: processor '.*bullmq-bad-noexport\.mjs' exports no function/);
      const throws = await run(['--queue', 'q', '--redis', redis.url, 'test/fixtures/bullmq-bad-throws.mjs']);
      expect(throws.code).toBe(1);
      expect(throws.out).toMatch(/cannot load processor '.*bullmq-bad-throws\.mjs': boom at import/);
    }, 60_000);
  });
});
