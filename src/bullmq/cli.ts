/**
 * `greenio worker`: P processes (`node:cluster`, through `runWorkers`), each preloaded
 * with `greenio/patch` and running one `GreenWorker` of N greenlets on the same BullMQ
 * queue. Start the same command on several machines against one Redis to scale out.
 * Checks what it can before forking (the processor file, the URL, that Redis answers),
 * so bad input is one line on stderr, not a crash loop. Limits: the processor module is
 * loaded in the workers only (its export is checked there, reported as `fatal`); node
 * flags for the workers (such as `--import tsx`) go through `NODE_OPTIONS`.
 */
import type { Cluster, Worker as ClusterWorker } from 'node:cluster';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runWorkers } from '../cluster.js';
import { tsx } from '../workers/task-codec.js';
import type { EntryMessage, WorkerSettings } from './worker-entry.js';

class Usage extends Error {
  override name = 'Usage';
}

/**
 * What `greenio worker` was asked to do (its flags; see `WORKER_HELP`). Written out rather
 * than derived from the settings each worker process gets, which are not public.
 */
export interface WorkerCommandOptions {
  queue: string;
  processor: string;
  redis: string;
  concurrency: number;
  processes: number;
  timeout?: number;
  closeTimeout: number;
  ioLog: boolean;
  lockDuration?: number;
  stalledInterval?: number;
  maxStalledCount?: number;
}

export const WORKER_HELP = `Usage: greenio worker --queue NAME [options] processor.js

Runs BullMQ workers whose jobs each run in their own greenlet, under greenio/patch:
P processes (node:cluster) x N greenlets, all on the queue NAME in one Redis. Run the
same command on more machines to scale out. The processor module exports one function
(job) => result, as its default export or as \`process\`.

Options:
  --queue NAME              the BullMQ queue to work on (required)
  -c, --concurrency N       jobs (greenlets) at once per process (default 100)
  -p, --processes P         worker processes on this machine (default 1)
  --redis URL               redis://[user:password@]host:port[/db] (default $REDIS_URL or redis://127.0.0.1:6379)
  --timeout MS              a job's timeout (a job's own opts.timeout wins); none by default
  --close-timeout MS        on SIGTERM/SIGINT, ms to wait for running jobs before killing them
                            and putting their jobs back in the wait list (default 10000)
  --lock-duration MS        BullMQ's job lock duration (default 30000)
  --stalled-interval MS     BullMQ's stalled-job check interval (default 30000)
  --max-stalled-count N     stalls before a job fails (default 1)
  --no-io-log               do not add each job's IO summary to its log
  -h, --help                this help

TypeScript processors: NODE_OPTIONS='--import tsx' greenio worker ... processor.ts
`;

function positiveInt(flag: string, v: string, min = 1): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new Usage(`${flag} expects an integer >= ${min}, got '${v}'`);
  return n;
}
function ms(flag: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new Usage(`${flag} expects a number of milliseconds > 0, got '${v}'`);
  return n;
}

/** Parse the arguments after `worker`. Returns null for `--help`. */
export function parseWorkerArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): WorkerCommandOptions | null {
  const o: Partial<WorkerCommandOptions> = { concurrency: 100, processes: 1, closeTimeout: 10_000, ioLog: true, redis: env.REDIS_URL ?? 'redis://127.0.0.1:6379' };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return null;
    if (a === '--no-io-log') {
      o.ioLog = false;
      continue;
    }
    if (!a.startsWith('-') || a === '-') {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const flag = eq < 0 ? a : a.slice(0, eq);
    const value = (): string => {
      const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new Usage(`${flag} expects a value`);
      return v;
    };
    switch (flag) {
      case '--queue': o.queue = value(); if (o.queue === '') throw new Usage('--queue expects a name'); break;
      case '-c': case '--concurrency': o.concurrency = positiveInt(flag, value()); break;
      case '-p': case '--processes': o.processes = positiveInt(flag, value()); break;
      case '--redis': o.redis = value(); break;
      case '--timeout': o.timeout = ms(flag, value()); break;
      case '--close-timeout': o.closeTimeout = ms(flag, value()); break;
      case '--lock-duration': o.lockDuration = ms(flag, value()); break;
      case '--stalled-interval': o.stalledInterval = ms(flag, value()); break;
      case '--max-stalled-count': o.maxStalledCount = positiveInt(flag, value(), 0); break;
      default: throw new Usage(`unknown option '${flag}' for 'greenio worker' (see greenio worker --help)`);
    }
  }
  if (o.queue === undefined) throw new Usage('--queue NAME is required (see greenio worker --help)');
  if (positional.length === 0) throw new Usage('no processor module given (see greenio worker --help)');
  if (positional.length > 1) throw new Usage(`one processor module expected, got '${positional.join("', '")}'`);
  o.processor = positional[0]!;
  redisAddress(o.redis!);
  return o as WorkerCommandOptions;
}

/** Host and port of a `redis://` URL; a `Usage` error for anything else. */
function redisAddress(url: string): { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Usage(`--redis expects a URL such as redis://127.0.0.1:6379, got '${url}'`);
  }
  if ((u.protocol !== 'redis:' && u.protocol !== 'rediss:') || u.hostname === '') {
    throw new Usage(`--redis expects a redis:// or rediss:// URL with a host, got '${url}'`);
  }
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379) };
}

/** A URL safe to print (no password). */
function shown(url: string): string {
  const u = new URL(url);
  if (u.password !== '') u.password = '***';
  return u.href.replace(/\/$/, '');
}

/** Connect, send PING, expect a Redis reply (`+PONG`, or `-NOAUTH`: Redis all the same). */
function pingRedis(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((done) => {
    const s = connect({ host, port });
    let out = '';
    const finish = (problem: string | null): void => {
      clearTimeout(timer);
      s.destroy();
      done(problem);
    };
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => s.write('*1\r\n$4\r\nPING\r\n'));
    s.on('data', (d: string) => {
      out += d;
      if (!out.includes('\r\n')) return;
      finish(out.startsWith('+PONG') || out.startsWith('-NOAUTH') || out.startsWith('-WRONGPASS') ? null : `not a Redis server (it answered ${JSON.stringify(out.slice(0, 40))})`);
    });
    s.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
    s.on('close', () => finish('connection closed without an answer'));
  });
}

/** The worker entry and preload to run: the processor's own greenio if it has one, else this copy. */
function entryFor(processor: string): { entry: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    // From greenio's sources (tests): the same copy, run through tsx.
    return { entry: join(dirname(here), 'worker-entry.ts'), execArgv: ['--import', tsx().loader, '--import', pathToFileURL(join(dirname(here), '..', 'patch.ts')).href] };
  }
  let dir = dirname(here);
  try {
    // One greenio per process: the processor's `import 'greenio'` must see the patched hub.
    const theirs = dirname(createRequire(processor).resolve('greenio/bullmq'));
    if (existsSync(join(theirs, 'worker-entry.js'))) dir = theirs;
  } catch {
    // The processor's project has no greenio of its own: this copy serves.
  }
  return { entry: join(dir, 'worker-entry.js'), execArgv: ['--import', pathToFileURL(join(dir, '..', 'patch.js')).href] };
}

/**
 * Run `greenio worker` with `argv` (the arguments after `worker`); resolves to the exit
 * code: 0 after a stop by SIGTERM/SIGINT, 2 for bad arguments, 1 when Redis cannot be
 * reached, a worker cannot start (bad processor module) or workers crash in a loop.
 * @example
 * import { workerCommand } from 'greenio/bullmq';
 * process.exitCode = await workerCommand(['--queue', 'crawl', '-c', '500', '-p', '2', './crawl.js']);
 */
export async function workerCommand(argv: readonly string[]): Promise<number> {
  let o: WorkerCommandOptions | null;
  try {
    o = parseWorkerArgs(argv);
    if (o === null) {
      process.stdout.write(WORKER_HELP);
      return 0;
    }
    const path = resolve(o.processor);
    if (!existsSync(path) || !statSync(path).isFile()) throw new Usage(`cannot find processor module '${o.processor}'`);
    o.processor = path;
  } catch (e) {
    if (!(e instanceof Usage)) throw e;
    process.stderr.write(`greenio worker: ${e.message}\n`);
    return 2;
  }
  const { host, port } = redisAddress(o.redis);
  const problem = await pingRedis(host, port, 5000);
  if (problem !== null) {
    process.stderr.write(`greenio worker: cannot reach Redis at ${shown(o.redis)} (${host}:${port}): ${problem}\n`);
    return 1;
  }
  return runGroup(o);
}

async function runGroup(o: WorkerCommandOptions): Promise<number> {
  const { processes, ...rest } = o;
  const settings: WorkerSettings = rest; // the flags and what each worker gets stay in step
  const { entry, execArgv } = entryFor(o.processor);
  const cluster = process.getBuiltinModule('node:cluster') as unknown as Cluster;
  const ready = new Set<number>();
  let finish!: (code: number) => void;
  const outcome = new Promise<number>((r) => (finish = r));
  const onMessage = (_w: ClusterWorker, m: EntryMessage): void => {
    if (m === null || typeof m !== 'object' || m.greenio !== 'bullmq') return;
    if (m.type === 'fatal') {
      process.stderr.write(`greenio worker: a worker process could not start: ${m.message}\n`);
      finish(1);
    } else if (m.type === 'ready') {
      ready.add(m.pid);
      if (ready.size === processes) {
        process.stdout.write(`greenio worker: ${processes} process(es) x ${o.concurrency} greenlets on queue '${o.queue}' at ${shown(o.redis)} (pids ${[...ready].join(', ')})\n`);
      }
    }
  };
  cluster.on('message', onMessage);
  const group = runWorkers(processes, entry, { execArgv, env: { GREENIO_BULLMQ_WORKER: JSON.stringify(settings) } });
  const onSignal = (): void => finish(0);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  group.wait().then(
    () => finish(0),
    (e: Error) => {
      process.stderr.write(`greenio worker: ${e.message}\n`);
      finish(1);
    },
  );
  const code = await outcome;
  // Workers close on the disconnect (running jobs get closeTimeout), then are killed.
  await group.stop(o.closeTimeout + 5000);
  cluster.removeListener('message', onMessage);
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  return code;
}
