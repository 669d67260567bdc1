/**
 * The process that `greenio worker` runs P times (through `node:cluster`), preloaded
 * with `greenio/patch`: it imports the processor module, starts one `GreenWorker` with
 * the settings in `GREENIO_BULLMQ_WORKER` (JSON), tells the primary `ready` (or `fatal`,
 * with a message, then exits), and closes gracefully on SIGTERM, SIGINT or when the
 * primary goes away. Limit: it is an entry point, not a module to import.
 */
import { pathToFileURL } from 'node:url';
import type { Job } from 'bullmq';
import type { GreenProcessor } from './worker.js';

/** What the primary (cli.ts) hands each worker process. @internal */
export interface WorkerSettings {
  queue: string;
  processor: string;
  redis: string;
  concurrency: number;
  timeout?: number;
  closeTimeout: number;
  ioLog: boolean;
  lockDuration?: number;
  stalledInterval?: number;
  maxStalledCount?: number;
}

/** Messages to the primary. @internal */
export type EntryMessage = { greenio: 'bullmq'; type: 'ready'; pid: number } | { greenio: 'bullmq'; type: 'fatal'; pid: number; message: string };

function tell(m: EntryMessage): Promise<void> {
  return new Promise((resolve) => {
    if (typeof process.send !== 'function' || !process.connected) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

async function fatal(message: string): Promise<never> {
  process.stderr.write(`greenio worker ${process.pid}: ${message}\n`);
  await tell({ greenio: 'bullmq', type: 'fatal', pid: process.pid, message });
  process.exit(78); // EX_CONFIG: the primary stops the group instead of restarting it
}

function processorOf(mod: Record<string, unknown>): GreenProcessor<unknown, unknown> | undefined {
  const d = mod.default as Record<string, unknown> | ((...a: unknown[]) => unknown) | undefined;
  if (typeof d === 'function') return d as GreenProcessor<unknown, unknown>;
  if (typeof mod.process === 'function') return mod.process as GreenProcessor<unknown, unknown>;
  // A CommonJS module (`module.exports = { process }`) arrives as the default export.
  if (d !== null && typeof d === 'object' && typeof d.process === 'function') return d.process as GreenProcessor<unknown, unknown>;
  return undefined;
}

async function main(): Promise<void> {
  const raw = process.env.GREENIO_BULLMQ_WORKER;
  if (raw === undefined) return fatal('GREENIO_BULLMQ_WORKER is not set: this script is started by `greenio worker`');
  const s = JSON.parse(raw) as WorkerSettings;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(s.processor).href)) as Record<string, unknown>;
  } catch (e) {
    return fatal(`cannot load processor '${s.processor}': ${(e as Error).message ?? String(e)}`);
  }
  const fn = processorOf(mod);
  if (fn === undefined) {
    return fatal(`processor '${s.processor}' exports no function: export default (job) => result, or export function process(job)`);
  }
  let GreenWorker: typeof import('./worker.js').GreenWorker;
  try {
    // Loaded here, not at the top: a missing `bullmq` is then a message, not a crash loop.
    ({ GreenWorker } = await import('./worker.js'));
  } catch (e) {
    return fatal(`cannot load BullMQ (npm install bullmq ioredis): ${(e as Error).message}`);
  }
  const worker = new GreenWorker<unknown, unknown>(s.queue, fn, {
    connection: { url: s.redis },
    concurrency: s.concurrency,
    closeTimeout: s.closeTimeout,
    ioLog: s.ioLog,
    ...(s.timeout !== undefined ? { timeout: s.timeout } : {}),
    ...(s.lockDuration !== undefined ? { lockDuration: s.lockDuration } : {}),
    ...(s.stalledInterval !== undefined ? { stalledInterval: s.stalledInterval } : {}),
    ...(s.maxStalledCount !== undefined ? { maxStalledCount: s.maxStalledCount } : {}),
  });
  let lastError = '';
  worker.on('error', (e: Error) => {
    // A Redis outage repeats the same error every retry: say it once per change.
    if (e.message === lastError) return;
    lastError = e.message;
    process.stderr.write(`greenio worker ${process.pid}: ${e.message}\n`);
  });
  worker.on('failed', (job: Job | undefined, e: Error) => {
    if (job === undefined) process.stderr.write(`greenio worker ${process.pid}: a job failed: ${e.message}\n`);
  });
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    worker.close().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`greenio worker ${process.pid}: close failed: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop); // the primary stopped the group, or died
  try {
    await worker.waitUntilReady({ timeout: 15_000 });
  } catch (e) {
    return fatal(`cannot connect to Redis at ${s.redis}: ${(e as Error).message}`);
  }
  await tell({ greenio: 'bullmq', type: 'ready', pid: process.pid });
}

void main();
