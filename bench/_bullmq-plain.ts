// The peer of bench/bullmq.ts: a plain BullMQ Worker (async processor, same concurrency),
// unpatched, in P processes through node:cluster. Usage: _bullmq-plain.ts QUEUE URL C P.
import cluster from 'node:cluster';
import { Worker } from 'bullmq';
import fetchOne from './_bullmq-processor.mjs';

const [queue, url, c, p] = process.argv.slice(2) as [string, string, string, string];
if (cluster.isPrimary) {
  let ready = 0;
  for (let i = 0; i < Number(p); i++) {
    cluster.fork().on('message', (m: unknown) => {
      if (m === 'ready' && ++ready === Number(p)) console.log(`plain bullmq: ${p} process(es) ready`);
    });
  }
  const stop = (): void => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const worker = new Worker(queue, fetchOne, { connection: { url }, concurrency: Number(c) });
  worker.on('error', (e) => console.error(e.message));
  await worker.waitUntilReady();
  process.send!('ready');
  process.on('SIGTERM', () => void worker.close().then(() => process.exit(0)));
}
