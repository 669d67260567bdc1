// Nothing lost under a storm of kills and timeouts: greenlets consume a Redis list with
// BLPOP on three shared clients (ioredis and node-redis) while producers LPUSH on a
// fourth (a push queued behind a BLPOP on its own connection would wait forever), and
// random consumers are killed or time out at random moments. Every job pushed is
// consumed exactly once or is still in the list; none is seen twice; nothing stays
// blocked on the server. This file's process runs patched (ioredis/redis loaded after).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patchAll, unpatchAll } from '../../src/monkey.js';
import { sleep, spawn, withTimeout, type Greenlet } from '../../src/index.js';
import { startRedis, type RedisServer } from '../servers/redis.js';

patchAll({ warnLate: false });
const { Redis } = await import('ioredis');
const { createClient } = await import('redis');

/** The two operations the storm uses, for either client. */
interface QueueClient {
  push(q: string, ...jobs: string[]): Promise<unknown>;
  pop(q: string): Promise<string | null>;
  ping(): Promise<unknown>;
  close(): Promise<unknown>;
}

type Cmd =
  | { t: 'push'; n: number; inGreenlet: boolean }
  | { t: 'consume'; client: number; timeoutMs: number | null }
  | { t: 'kill'; which: number }
  | { t: 'sleep'; ms: number };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('push' as const), n: fc.integer({ min: 1, max: 8 }), inGreenlet: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('consume' as const), client: fc.integer({ min: 0, max: 2 }), timeoutMs: fc.option(fc.integer({ min: 1, max: 25 })) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('kill' as const), which: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('sleep' as const), ms: fc.integer({ min: 0, max: 8 }) }) },
);

let redis: RedisServer;
let admin: InstanceType<typeof Redis>;
beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.port, '127.0.0.1');
}, 30_000);
afterAll(async () => {
  await admin?.quit();
  await redis?.stop();
  unpatchAll();
});

const blocked = async (): Promise<number> => Number(/^blocked_clients:(\d+)/m.exec(await admin.info('clients'))![1]);

async function storm(clients: QueueClient[], cmds: Cmd[], run: number): Promise<number> {
  const q = `storm-${run}`;
  const sure = new Set<string>(); // pushed by main: certainly in the list
  const maybe = new Set<string>(); // pushed by a greenlet that may have been killed first
  const consumed: string[] = [];
  const consumers: Greenlet[] = [];
  let ops = 0;
  let next = 0;
  for (const c of cmds) {
    if (c.t === 'push') {
      const jobs = Array.from({ length: c.n }, () => `${run}-${next++}`);
      ops += jobs.length;
      if (c.inGreenlet) {
        for (const j of jobs) maybe.add(j);
        consumers.push(spawn(() => clients[3]!.push(q, ...jobs))); // killable like the rest
      } else {
        await clients[3]!.push(q, ...jobs);
        for (const j of jobs) sure.add(j);
      }
    } else if (c.t === 'consume') {
      const client = clients[c.client]!;
      consumers.push(
        spawn(async () => {
          for (;;) {
            ops++;
            const job = c.timeoutMs === null ? await client.pop(q) : await withTimeout(c.timeoutMs, () => client.pop(q), { timeoutValue: null });
            if (job !== null) consumed.push(job);
          }
        }),
      );
    } else if (c.t === 'kill') {
      const live = consumers.filter((g) => !g.dead);
      if (live.length > 0) await live[c.which % live.length]!.kill();
    } else {
      await sleep(c.ms);
    }
  }
  await sleep(20);
  for (const g of consumers) await g.kill();
  // Every late reply in, every item put back: two round trips on each client.
  for (let i = 0; i < 100 && (await blocked()) > 0; i++) await sleep(10);
  for (const client of clients) await client.ping();
  for (const client of clients) await client.ping();
  const left = await admin.lrange(q, 0, -1);
  const all = [...consumed, ...left];
  expect(await blocked()).toBe(0);
  expect(all.length, 'a job seen twice').toBe(new Set(all).size);
  for (const j of sure) expect(all, `job ${j} lost`).toContain(j);
  for (const j of all) expect(sure.has(j) || maybe.has(j), `job ${j} never pushed`).toBe(true);
  await admin.del(q);
  return ops;
}

const ioredisClients = (): QueueClient[] =>
  Array.from({ length: 4 }, () => {
    const c = new Redis(redis.port, '127.0.0.1');
    return {
      push: (q, ...jobs) => c.lpush(q, ...jobs),
      pop: async (q) => (await c.blpop(q, 0))?.[1] ?? null,
      ping: () => c.ping(),
      close: () => c.quit(),
    };
  });

async function nodeRedisClients(): Promise<QueueClient[]> {
  const out: QueueClient[] = [];
  for (let i = 0; i < 4; i++) {
    const c = createClient({ url: `redis://127.0.0.1:${redis.port}` });
    c.on('error', () => {});
    await c.connect();
    out.push({
      push: (q, ...jobs) => c.lPush(q, jobs),
      pop: async (q) => (await c.blPop(q, 0))?.element ?? null,
      ping: () => c.ping(),
      close: () => c.close(),
    });
  }
  return out;
}

describe('a storm of kills and timeouts over a Redis job list', () => {
  for (const [name, make] of [['ioredis', async () => ioredisClients()], ['node-redis', nodeRedisClients]] as const) {
    it(`${name}: every job is consumed exactly once or is still in the list`, async () => {
      const clients = await make();
      let run = 0;
      let ops = 0;
      // Rounds of the property until at least 1,000 operations ran (the command lists are
      // random in length), bounded.
      for (let round = 0; ops < 1000 && round < 10; round++) {
        await fc.assert(
          fc.asyncProperty(fc.array(cmd, { minLength: 20, maxLength: 60 }), async (cmds) => {
            ops += await storm(clients, cmds, run++);
          }),
          { numRuns: 12 },
        );
      }
      for (const c of clients) await c.close();
      expect(ops).toBeGreaterThanOrEqual(1000);
    }, 120_000);
  }
});
