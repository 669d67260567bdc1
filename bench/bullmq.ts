// 20,000 IO-bound BullMQ jobs (each a GET to a local HTTP server answering after 20 ms),
// concurrency 500 per process: greenio's worker (`greenio worker`: a greenlet per job,
// under the patch, IO summary logged per job, except that jobs here are removed on
// completion, which deletes a line with its job: none is written) beside a plain BullMQ
// Worker with the same concurrency and an async processor, in 1 and 2 processes, and that
// Worker under greenio/patch (the floor). Each variant starts its own
// redis-server; jobs are added to a paused queue, the clock runs from resume() to the
// last completion. Redis commands per job come from INFO commandstats over the run (the
// commands Lua scripts run count too), CPU time per process kind from /proc.
import { readdirSync, readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { startRedis } from '../test/bullmq/redis.js';
import { countingServer, startProc } from '../test/bullmq/util.js';
import { defineWorkload, type Metrics } from './lib.js';

const N = Number(process.env.N ?? 20_000);
const C = 500;

/** CPU ms (user + system) a process used so far, from /proc (Linux). */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

/** `pid` and its descendants (the worker command's cluster processes). */
function tree(pid: number): number[] {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  for (const stack = [pid]; stack.length > 0; ) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(kids.get(p) ?? []));
  }
  return out;
}

function commandstats(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

async function run(kind: 'greenio' | 'plain' | 'plain-patched', processes: number, ioLog = true): Promise<Metrics> {
  const redis = await startRedis();
  const http = await countingServer(20);
  const queue = new Queue('bench', { connection: { url: redis.url } });
  try {
    await queue.pause();
    for (let i = 0; i < N; i += 1000) {
      await queue.addBulk(Array.from({ length: Math.min(1000, N - i) }, () => ({ name: 'get', data: { port: http.port }, opts: { removeOnComplete: true } })));
    }
    const args = kind === 'greenio'
      ? // This process's loader flags (tsx, and bench/_dist.mjs unless BENCH_SRC=1): greenio's
        // worker runs the build in dist/, as the other variants' greenio does, not tsx's
        // rendering of the sources (which the cluster's processes inherit, too).
        [...process.execArgv, 'test/fixtures/bullmq-cli.ts', '--queue', 'bench', '-c', String(C), '-p', String(processes), '--redis', redis.url, ...(ioLog ? [] : ['--no-io-log']), 'bench/_bullmq-processor.mjs']
      : ['--import', 'tsx', ...(kind === 'plain-patched' ? ['--import', './dist/src/patch.js'] : []), 'bench/_bullmq-plain.ts', 'bench', redis.url, String(C), String(processes)];
    const workers = startProc(process.execPath, args);
    await workers.waitFor(kind === 'greenio' ? /process\(es\) x/ : /process\(es\) ready/, 60_000);
    redis.cli(['config', 'resetstat']);
    const pids = tree(workers.child.pid!);
    const cpu0 = { redis: cpuMs(redis.pid), workers: pids.reduce((a, p) => a + cpuMs(p), 0), bench: process.cpuUsage() };
    const t0 = performance.now();
    await queue.resume();
    for (let i = 0; i < 12_000; i++) {
      const c = await queue.getJobCounts('completed', 'waiting', 'active', 'wait');
      if (c.waiting + c.active + c.wait === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const ms = performance.now() - t0;
    const bench = process.cpuUsage(cpu0.bench);
    const cpu = { redis: cpuMs(redis.pid) - cpu0.redis, workers: pids.reduce((a, p) => a + cpuMs(p), 0) - cpu0.workers, bench: (bench.user + bench.system) / 1000 };
    const stats = commandstats(redis.cli(['info', 'commandstats']));
    if (process.env.BENCH_VERBOSE) console.error(kind, processes, [...stats].sort((a, b) => b[1] - a[1]).slice(0, 8));
    workers.child.kill('SIGTERM');
    await workers.exited(30_000).catch(() => workers.child.kill('SIGKILL'));
    // The bench's own polling (getJobCounts) is a few commands per 20 ms: left in, noted.
    const calls = [...stats.values()].reduce((a, b) => a + b, 0);
    const served = [...http.hits.values()].reduce((a, b) => a + b, 0);
    if (served !== N) throw new Error(`${served} of ${N} jobs reached the HTTP server`);
    return {
      jobs_per_s: N / (ms / 1000),
      ms,
      redis_calls_per_job: calls / N,
      evalsha_per_job: ((stats.get('evalsha') ?? 0) + (stats.get('eval') ?? 0)) / N,
      bzpopmin_per_job: (stats.get('bzpopmin') ?? 0) / N,
      // Where the time goes: CPU ms per 1,000 jobs of Redis, of the worker processes, and
      // of this process (the HTTP server and the polling).
      redis_cpu_ms_per_1k: (cpu.redis * 1000) / N,
      workers_cpu_ms_per_1k: (cpu.workers * 1000) / N,
      bench_cpu_ms_per_1k: (cpu.bench * 1000) / N,
    };
  } finally {
    await queue.close();
    await http.stop();
    await redis.stop();
  }
}

export default defineWorkload({
  name: 'bullmq',
  description: `${N} IO-bound BullMQ jobs (GET, 20 ms server delay), concurrency ${C} per process: greenio worker vs plain BullMQ Worker; jobs per second`,
  variants: {
    greenio_1p: () => run('greenio', 1),
    plain_1p: () => run('plain', 1),
    greenio_2p: () => run('greenio', 2),
    plain_2p: () => run('plain', 2),
    greenio_1p_nolog: () => run('greenio', 1, false),
    // The floor of the goal: BullMQ's own Worker under greenio/patch (the least a worker
    // whose jobs' IO greenio sees can cost, with no greenlet per job).
    plain_1p_patched: () => run('plain-patched', 1),
  },
  ratios: [
    { label: 'greenio / plain BullMQ, 1 process', metric: 'jobs_per_s', numerator: 'greenio_1p', denominator: 'plain_1p', target: 0.9, goal: 'BullMQ worker, IO-bound jobs / a plain BullMQ `Worker`' },
    { label: 'greenio / plain BullMQ, 2 processes', metric: 'jobs_per_s', numerator: 'greenio_2p', denominator: 'plain_2p', target: 0.9 },
    { label: 'greenio 2 processes / 1 process', metric: 'jobs_per_s', numerator: 'greenio_2p', denominator: 'greenio_1p', target: 1.5 },
    { label: 'plain BullMQ 2 processes / 1 process', metric: 'jobs_per_s', numerator: 'plain_2p', denominator: 'plain_1p' },
    { label: 'greenio without IO log / plain BullMQ, 1 process', metric: 'jobs_per_s', numerator: 'greenio_1p_nolog', denominator: 'plain_1p' },
    { label: 'plain BullMQ under greenio/patch / plain BullMQ, 1 process', metric: 'jobs_per_s', numerator: 'plain_1p_patched', denominator: 'plain_1p', target: 0.9, floorFor: 'BullMQ worker, IO-bound jobs / a plain BullMQ `Worker`' },
    { label: 'greenio / plain BullMQ under greenio/patch, 1 process', metric: 'jobs_per_s', numerator: 'greenio_1p', denominator: 'plain_1p_patched' },
  ],
});
