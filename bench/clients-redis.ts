// The Redis integrations' cost and cancel latency, against a real redis-server: 20,000
// short commands (SET/GET alternating) by 50 concurrent flows on one shared client,
// unpatched (plain async functions) vs patched (greenlets; each command a greenlet op),
// for ioredis and node-redis; patched with the client's integration off (the floor the
// integration adds to); and, patched, the time from killing a greenlet blocked in BLPOP
// to the connection serving its next command (the server-side unblock). The floor: unpatched,
// each of the 50 loops in its own AsyncLocalStorage.run, its store read at each command (what
// any implementation that knows which flow issued a command pays; on Node 20 the first run()
// turns async_hooks' promise hooks on for the whole process).
// Target: patched >= 0.9x unpatched throughput.
import { AsyncLocalStorage } from 'node:async_hooks';
import { defineWorkload, median, timeIt, type Metrics } from './lib.js';
import { startRedis } from '../test/servers/redis.js';

const OPS = Number(process.env.OPS ?? 20_000);
const CONCURRENCY = 50;
const KILLS = 30;

interface Client {
  set(k: string, v: string): Promise<unknown>;
  get(k: string): Promise<unknown>;
  blpop(k: string): Promise<unknown>;
  ping(): Promise<unknown>;
  blocked(): Promise<number>;
  close(): Promise<unknown>;
}

async function ioredisClient(url: string): Promise<Client> {
  const { Redis } = await import('ioredis');
  const c = new Redis(url);
  const admin = new Redis(url);
  return {
    set: (k, v) => c.set(k, v),
    get: (k) => c.get(k),
    blpop: (k) => c.blpop(k, 0),
    ping: () => c.ping(),
    blocked: async () => Number(/blocked_clients:(\d+)/.exec(await admin.info('clients'))![1]),
    close: async () => Promise.all([c.quit(), admin.quit()]),
  };
}

async function nodeRedisClient(url: string): Promise<Client> {
  const { createClient } = await import('redis');
  const c = createClient({ url });
  const admin = createClient({ url });
  await c.connect();
  await admin.connect();
  return {
    set: (k, v) => c.set(k, v),
    get: (k) => c.get(k),
    blpop: (k) => c.blPop(k, 0),
    ping: () => c.ping(),
    blocked: async () => Number(/blocked_clients:(\d+)/.exec(await admin.info('clients'))![1]),
    close: async () => Promise.all([c.close(), admin.close()]),
  };
}

// `integration` false: Node's IO patched and the loops greenlets, the client's own integration
// off (its commands then belong to no greenlet): what the integration itself costs.
async function throughput(lib: 'ioredis' | 'node-redis', patched: boolean, integration = true, floor = false): Promise<Metrics> {
  let run = (fn: () => Promise<void>): Promise<unknown> => fn();
  const scope = new AsyncLocalStorage<{ w: number }>();
  if (patched) {
    const { patchAll } = await import('../src/monkey.js');
    patchAll({ warnLate: false, ...(integration ? {} : lib === 'ioredis' ? { ioredis: false } : { redis: false }) });
    const { spawn } = await import('../src/index.js');
    run = (fn) => spawn(fn).get();
  }
  const server = await startRedis();
  const c = lib === 'ioredis' ? await ioredisClient(server.url) : await nodeRedisClient(server.url);
  try {
    const per = OPS / CONCURRENCY;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < per; i++) {
        if (i % 2 === 0) await c.set(`k${w}`, String(i));
        else await c.get(`k${w}`);
      }
    };
    const scoped = async (): Promise<void> => {
      for (let i = 0; i < per; i++) {
        const w = scope.getStore()!.w;
        if (i % 2 === 0) await c.set(`k${w}`, String(i));
        else await c.get(`k${w}`);
      }
    };
    const one = floor ? (w: number) => scope.run({ w }, scoped) : (w: number) => run(() => worker(w));
    const ms = await timeIt(() => Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => one(w))), 5, 2);
    return { ops_per_s: OPS / (ms / 1000) };
  } finally {
    await c.close();
    await server.stop();
  }
}

async function killLatency(lib: 'ioredis' | 'node-redis'): Promise<Metrics> {
  const { patchAll } = await import('../src/monkey.js');
  patchAll({ warnLate: false });
  const { spawn, sleep } = await import('../src/index.js');
  const server = await startRedis();
  const c = lib === 'ioredis' ? await ioredisClient(server.url) : await nodeRedisClient(server.url);
  try {
    const times: number[] = [];
    for (let i = 0; i < KILLS; i++) {
      const g = spawn(() => c.blpop('bench-q'));
      while ((await c.blocked()) !== 1) await sleep(1);
      const t0 = performance.now();
      await g.kill();
      await c.ping(); // answered only once the BLPOP ahead of it was unblocked
      times.push(performance.now() - t0);
    }
    return { kill_to_unblock_ms: median(times) };
  } finally {
    await c.close();
    await server.stop();
  }
}

export default defineWorkload({
  name: 'clients-redis',
  description: `Redis integrations: ${OPS} SET/GET by ${CONCURRENCY} concurrent flows on one shared client, unpatched vs patched (ioredis, node-redis); kill-to-unblock latency of a BLPOP`,
  variants: {
    'ioredis-unpatched': () => throughput('ioredis', false),
    'ioredis-patched': () => throughput('ioredis', true),
    'node-redis-unpatched': () => throughput('node-redis', false),
    'node-redis-patched': () => throughput('node-redis', true),
    'ioredis-plain-patch': () => throughput('ioredis', true, false),
    'node-redis-plain-patch': () => throughput('node-redis', true, false),
    'ioredis-floor': () => throughput('ioredis', false, true, true),
    'node-redis-floor': () => throughput('node-redis', false, true, true),
    'ioredis-kill': () => killLatency('ioredis'),
    'node-redis-kill': () => killLatency('node-redis'),
  },
  ratios: [
    { label: 'ioredis patched / unpatched', metric: 'ops_per_s', numerator: 'ioredis-patched', denominator: 'ioredis-unpatched', target: 0.9 },
    { label: 'node-redis patched / unpatched', metric: 'ops_per_s', numerator: 'node-redis-patched', denominator: 'node-redis-unpatched', target: 0.9 },
    { label: 'ioredis patched / patched without the integration', metric: 'ops_per_s', numerator: 'ioredis-patched', denominator: 'ioredis-plain-patch' },
    { label: 'node-redis patched / patched without the integration', metric: 'ops_per_s', numerator: 'node-redis-patched', denominator: 'node-redis-plain-patch' },
    { label: 'ioredis: the floor (each loop in its own AsyncLocalStorage.run) / unpatched', metric: 'ops_per_s', numerator: 'ioredis-floor', denominator: 'ioredis-unpatched', target: 0.9 },
    { label: 'node-redis: the floor (each loop in its own AsyncLocalStorage.run) / unpatched', metric: 'ops_per_s', numerator: 'node-redis-floor', denominator: 'node-redis-unpatched', target: 0.9 },
  ],
});
