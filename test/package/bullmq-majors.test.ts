/**
 * BullMQ over the newest ioredis major, as a user's project gets it: the tarball, bullmq
 * and ioredis at the major of client-majors/package.json installed by npm in a temp
 * project (bullmq takes ioredis as a peer, so its connections are that ioredis; in this
 * repository they are the devDependency's older major), run with `--import greenio/patch`
 * against a real redis-server. A job blocked in BLPOP on a client opened in main times
 * out on time and is unblocked on the server (a job pushed afterwards stays in the list),
 * quick jobs complete, and the worker closes with no client left blocked.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { startRedis, type RedisServer } from '../servers/redis.js';
import { manifest, ok, packInto, registryHint, root, run } from './pack.js';

const majors = JSON.parse(readFileSync(join(root, 'client-majors/package.json'), 'utf8')) as { dependencies: Record<string, string> };
const IOREDIS = majors.dependencies.ioredis!;
const BULLMQ = manifest().devDependencies.bullmq!;

// The user's program: a consumer whose jobs use a Redis client made in main.
const APP = `
import { createRequire } from 'node:module';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { GreenWorker } from 'greenio/bullmq';

const url = process.env.REDIS_URL;
const require = createRequire(import.meta.url);
const bullmqIoredis = createRequire(require.resolve('bullmq')).resolve('ioredis/package.json');
const shared = new Redis(url);
const side = new Redis(url);
let reconnects = 0;
shared.on('reconnecting', () => reconnects++);
const queue = new Queue('majors', { connection: { url } });
const worker = new GreenWorker('majors', async (job) => {
  if (job.data.kind === 'block') return await shared.blpop('majors:list', 0);
  return job.data.n * 2;
}, { connection: { url }, concurrency: 10, timeout: 300 });
worker.on('error', () => {});
await worker.waitUntilReady();
await side.del('majors:list');
const t0 = performance.now();
const blocked = await queue.add('block', { kind: 'block' }, { attempts: 1 });
const quick = await Promise.all([1, 2, 3, 4, 5].map((n) => queue.add('quick', { n })));
async function settled(job) {
  for (let i = 0; i < 400; i++) {
    const j = await queue.getJob(job.id);
    const state = await j.getState();
    if (state === 'completed' || state === 'failed') return { state, value: j.returnvalue, reason: j.failedReason, ms: j.finishedOn - j.processedOn };
    await new Promise((r) => setTimeout(r, 25));
  }
  return { state: 'unsettled' };
}
const blockedEnd = await settled(blocked);
const quickEnds = await Promise.all(quick.map(settled));
const blockedAfterTimeout = Number(/blocked_clients:(\\d+)/.exec(await side.info('clients'))[1]);
await side.lpush('majors:list', 'kept');
await new Promise((r) => setTimeout(r, 200));
const llen = await side.llen('majors:list');
const sharedPing = await shared.ping();
await worker.close();
await queue.close();
await shared.quit();
const blockedAfterClose = Number(/blocked_clients:(\\d+)/.exec(await side.info('clients'))[1]);
await side.quit();
console.log(JSON.stringify({
  ioredis: require('ioredis/package.json').version,
  bullmqIoredis: JSON.parse((await import('node:fs')).readFileSync(bullmqIoredis, 'utf8')).version,
  blockedEnd, quickEnds, blockedAfterTimeout, llen, sharedPing, reconnects, blockedAfterClose,
  totalMs: performance.now() - t0,
}));
`;

describe(`BullMQ (${BULLMQ}) over ioredis ${IOREDIS}, from the tarball in a user's project`, () => {
  const tmp = tempDir('greenio-bullmq-majors-');
  let project = '';
  let redis: RedisServer;
  let out: {
    ioredis: string;
    bullmqIoredis: string;
    blockedEnd: { state: string; reason?: string; ms?: number };
    quickEnds: { state: string; value?: unknown }[];
    blockedAfterTimeout: number;
    llen: number;
    sharedPing: string;
    reconnects: number;
    blockedAfterClose: number;
  };
  let stderr = '';
  let control: typeof out;

  beforeAll(async () => {
    redis = await startRedis();
    const tgz = await packInto(tmp.dir);
    project = join(tmp.dir, 'app');
    ok(await run('mkdir', ['-p', project], tmp.dir), 'mkdir');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const install = await run('npm', ['install', tgz, `bullmq@${BULLMQ}`, `ioredis@${IOREDIS}`, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], project, {
      npm_config_update_notifier: 'false',
    });
    if (install.status !== 0) throw new Error(`npm install failed. ${registryHint(install)}\n${install.stderr.slice(-3000)}`);
    writeFileSync(join(project, 'app.mjs'), APP);
    const r = await run(process.execPath, ['--import', 'greenio/patch', 'app.mjs'], project, { REDIS_URL: redis.url });
    stderr = r.stderr;
    ok(r, 'the BullMQ app');
    out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    // The control: the same app without the patch.
    const c = ok(await run(process.execPath, ['app.mjs'], project, { REDIS_URL: redis.url }), 'the BullMQ app, unpatched');
    control = JSON.parse(c.stdout.trim().split('\n').pop()!);
  }, 180_000);
  afterAll(async () => {
    await redis?.stop();
    tmp.cleanup();
  });

  it("BullMQ's connections and the app's client are the newest major", () => {
    expect(out.ioredis.split('.')[0]).toBe(IOREDIS.replace(/^\D*/, '').split('.')[0]);
    expect(out.bullmqIoredis).toBe(out.ioredis);
  });

  it('a job blocked in BLPOP on a client opened in main fails with its TimeoutError on time, unblocked on the server', () => {
    expect(out.blockedEnd.state).toBe('failed');
    expect(out.blockedEnd.reason).toBe('timed out after 300 ms');
    expect(out.blockedEnd.ms).toBeGreaterThanOrEqual(250);
    expect(out.blockedEnd.ms).toBeLessThan(5000);
    // Only BullMQ's own blocking fetch may be blocked: the job's BLPOP is not.
    expect(out.blockedAfterTimeout).toBeLessThanOrEqual(1);
    expect(out.llen, 'the job pushed after the timeout stays in the list').toBe(1);
  });

  it('the quick jobs complete, the shared client serves on without reconnecting, nothing is left blocked', () => {
    expect(out.quickEnds).toEqual([2, 4, 6, 8, 10].map((value) => expect.objectContaining({ state: 'completed', value })));
    expect(out.sharedPing).toBe('PONG');
    expect(out.reconnects).toBe(0);
    expect(out.blockedAfterClose).toBe(0);
    expect(stderr).not.toMatch(/could not interrupt|unhandled/i);
  });

  it('without the patch (the control) the job times out too, but its BLPOP stays and takes the job pushed afterwards', () => {
    expect(control.blockedEnd.state).toBe('failed');
    expect(control.blockedAfterTimeout).toBeGreaterThanOrEqual(1);
    expect(control.llen).toBe(0);
  });
});
