// A job consumer on Redis with timeouts that lose no job: greenlets BLPOP jobs from a list under withTimeout, half of them are killed mid-run, and every job is still done exactly once.
//
// Run: node --import greenio/patch examples/redis-consumer.mjs
//      (needs redis-server on PATH, or REDIS_URL naming a Redis it may write `jobs:*` keys to)
//
// With the patch, a Redis command is an op of the greenlet that issues it. When a
// timeout or a kill lands on a greenlet blocked in BLPOP, greenio ends the BLPOP on the
// server (CLIENT UNBLOCK from a side connection), so the abandoned BLPOP cannot take the
// next job and drop it; if the server had already handed it a job, that job goes back
// to the head of the list. Without the patch, each timed-out BLPOP stays blocked on the
// server and swallows a later job.
import { spawn as spawnChild } from 'node:child_process';
import { createServer } from 'node:net';
import Redis from 'ioredis';
import { killAll, sleep, spawn, withTimeout } from 'greenio';
import { isModulePatched } from 'greenio/monkey';

console.log(isModulePatched('ioredis') ? 'patched: Redis commands are greenlet ops' : 'not patched: run with --import greenio/patch');

const JOBS = 300;
const CONSUMERS = 6;
const list = `jobs:${process.pid}`;

/** A throwaway redis-server (no persistence), unless REDIS_URL names one. */
async function startRedis() {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop() {} };
  const probe = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => probe.once('listening', r));
  const port = probe.address().port;
  await new Promise((r) => probe.close(r));
  const child = spawnChild('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  child.on('error', (e) => {
    console.error(`cannot start redis-server (${e.message}): install it or set REDIS_URL`);
    process.exit(1);
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const probeClient = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probeClient.on('error', () => {});
    const up = await probeClient.connect().then(() => true, () => false);
    probeClient.disconnect();
    if (up) break;
    await sleep(25);
  }
  return { url, stop: () => child.kill('SIGKILL') };
}

const server = await startRedis();
const redis = new Redis(server.url); // made in main, shared by the producer and the report
await redis.del(list);

const done = new Map(); // job -> consumer that did it
const connections = [];
let duplicates = 0;
let idle = 0;

// A consumer: its own blocking connection (opened inside the greenlet), BLPOP with a
// timeout so that an idle consumer wakes up now and then; each job takes a few ms.
async function consumer(name) {
  const conn = redis.duplicate();
  connections.push(conn);
  try {
    for (;;) {
      const popped = await withTimeout(20, () => conn.blpop(list, 0), { timeoutValue: null });
      if (popped === null) {
        idle++;
        continue;
      }
      const job = popped[1];
      if (done.has(job)) duplicates++;
      done.set(job, name);
      await sleep(2);
    }
  } finally {
    conn.disconnect(); // runs on kill too: the connection was never destroyed under ioredis
  }
}

const consumers = Array.from({ length: CONSUMERS }, (_, i) => spawn(consumer, `consumer-${i + 1}`));

// The producer pushes in bursts with pauses, so consumers keep timing out between them.
for (let i = 0; i < JOBS; i += 20) {
  await redis.rpush(list, ...Array.from({ length: 20 }, (_, k) => `job-${i + k + 1}`));
  await sleep(i === 140 ? 0 : 60);
  if (i === 140) {
    // Scale down mid-run: half the consumers are killed wherever they are.
    await killAll(consumers.slice(0, CONSUMERS / 2));
    console.log(`killed ${CONSUMERS / 2} consumers mid-run`);
  }
}
while ((await redis.llen(list)) > 0) await sleep(20);
await sleep(100);
await killAll(consumers);

const left = await redis.llen(list);
const blocked = Number(/blocked_clients:(\d+)/.exec(await redis.info('clients'))[1]);
const lost = JOBS - done.size - left;
console.log(`pushed ${JOBS} jobs; done ${done.size}, left in the list ${left}, lost ${lost}, done twice ${duplicates}`);
const patched = isModulePatched('ioredis');
console.log(`idle BLPOP timeouts: ${idle} (${patched ? 'each ended on the server: none took a job' : 'each left blocked on the server: the next job went to it, and nowhere'})`);
console.log(`blocked on the server after the stop: ${blocked}`);
await redis.del(list);
await redis.quit();
// Unpatched, the killed consumers were only abandoned: their finally never ran.
for (const c of connections) c.disconnect();
server.stop();
