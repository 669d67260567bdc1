/**
 * The crawler demo (examples/crawler's site), split over Redis: a producer seeds one
 * URL; two worker "machines" (separate process trees, 2 processes x 100 greenlets each,
 * the same command each) crawl the site in parallel, each job a greenlet with a 1 s
 * timeout and 2 attempts; the producer prints the run's report: the site's slow pages
 * time out, its HTTP 500s and dropped connections fail after their retry.
 * Run: node --import tsx examples/bullmq-crawler/run.ts
 * Needs `redis-server` on PATH (or REDIS_URL pointing at a Redis to use, e.g. another
 * machine's; the queue is emptied first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { crawlSite } from './producer.js';
import type { AddressInfo } from 'node:net';
import { createSite, PAGES } from '../crawler/site.js';

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const QUEUE = 'crawl';

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as { port: number };
  s.close();
  return port;
}

/** A throwaway redis-server (no persistence), unless REDIS_URL names one. */
async function redis(): Promise<{ url: string; stop(): void }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop() {} };
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  child.once('error', (e) => {
    console.error(`cannot start redis-server (${e.message}): install it (apt-get install -y redis-server) or set REDIS_URL`);
    process.exit(1);
  });
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((r) => connect(port, '127.0.0.1').once('connect', function (this: import('node:net').Socket) { this.destroy(); r(true); }).once('error', () => r(false)));
    if (ok) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

/** One "machine": `greenio worker --queue crawl -c 100 -p 2 --timeout 1000 processor.ts`. */
function machine(redisUrl: string): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', here('./worker.ts'), '--queue', QUEUE, '-c', '100', '-p', '2', '--timeout', '1000', '--redis', redisUrl, here('./processor.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, REDIS_URL: redisUrl, CRAWL_QUEUE: QUEUE },
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      process.stdout.write(`  ${d.toString()}`);
      if (d.toString().includes('greenlets on queue')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`a worker machine exited with code ${code}`)));
  });
  return { child, ready };
}

const r = await redis();
const server = createSite(PAGES);
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const siteUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const cleanup = new Queue(QUEUE, { connection: { url: r.url } });
await cleanup.obliterate({ force: true });
await cleanup.close();
console.log(`site ${siteUrl} (${PAGES} pages), redis ${r.url}`);
const machines = [machine(r.url), machine(r.url)];
try {
  await Promise.all(machines.map((m) => m.ready));
  const report = await crawlSite(r.url, QUEUE, `${siteUrl}/`);
  console.log(`\ncrawled ${report.pages} pages (${report.bytes} bytes) in ${report.seconds.toFixed(2)} s; ${report.failed} failed`);
  for (const [why, n] of Object.entries(report.failures)) console.log(`  failed: ${n} x ${why}`);
  console.log('pages per worker process:');
  for (const [pid, n] of Object.entries(report.byProcess)) console.log(`  pid ${pid}: ${n}`);
  console.log('IO the jobs waited on (from their greenio io: logs):');
  for (const [kind, v] of Object.entries(report.io)) console.log(`  ${kind.padEnd(14)} ${String(v.count).padStart(5)} x, ${v.ms} ms`);
  console.log(JSON.stringify({ report }));
} finally {
  for (const m of machines) m.child.kill('SIGTERM');
  await Promise.all(machines.map((m) => (m.child.exitCode === null ? once(m.child, 'exit') : null)));
  server.closeAllConnections();
  server.close();
  r.stop();
}
