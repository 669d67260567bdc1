// Several machines simulated on one: two `greenio worker` groups, each a separate process
// tree, in its own network namespace when the machine allows it (`ip netns`, root), with
// one Redis on the host; jobs spread over both. Without network namespaces (no root, no
// `ip`), the groups run as separate process trees on loopback and the test says so.
import { spawnSync } from 'node:child_process';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from './redis.js';
import { countingServer, startProc, until, type CountingServer, type Proc } from './util.js';


interface Machine {
  /** Network namespace, or null on loopback. */
  ns: string | null;
  /** The host's address as the machine sees it (Redis and the HTTP server). */
  gateway: string;
  /** The machine's own address, as the host sees its requests come. */
  self: string;
}

const ip = (args: string[]): boolean => spawnSync('ip', args, { stdio: 'ignore' }).status === 0;
const tag = `g${process.pid % 100_000}`;
const machines: Machine[] = [];
let redis: RedisServer;
const servers: CountingServer[] = [];
const procs: Proc[] = [];

/** Two namespaces, each joined to the host by a veth pair on its own /30; null if not allowed. */
function makeNamespaces(): Machine[] | null {
  const net = 100 + (process.pid % 100); // 10.<net>.<k>.0/30, per test process
  const made: Machine[] = [];
  for (const k of [1, 2]) {
    const ns = `${tag}m${k}`;
    const host = `${tag}h${k}`;
    const peer = `${tag}p${k}`;
    const gateway = `10.${net}.${k}.1`;
    const self = `10.${net}.${k}.2`;
    const ok = ip(['netns', 'add', ns]) && ip(['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]) &&
      ip(['link', 'set', peer, 'netns', ns]) && ip(['addr', 'add', `${gateway}/30`, 'dev', host]) && ip(['link', 'set', host, 'up']) &&
      ip(['-n', ns, 'addr', 'add', `${self}/30`, 'dev', peer]) && ip(['-n', ns, 'link', 'set', peer, 'up']) && ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    made.push({ ns, gateway, self });
    if (!ok) {
      removeNamespaces(made);
      return null;
    }
  }
  return made;
}

function removeNamespaces(ms: Machine[]): void {
  for (const [i, m] of ms.entries()) {
    if (m.ns === null) continue;
    ip(['link', 'del', `${tag}h${i + 1}`]);
    ip(['netns', 'del', m.ns]);
  }
}

beforeAll(async () => {
  const spaced = makeNamespaces();
  if (spaced === null) {
    console.warn('machines.test: network namespaces are not available here (needs root and `ip`): the two groups run as separate process trees on loopback');
    machines.push({ ns: null, gateway: '127.0.0.1', self: '127.0.0.1' }, { ns: null, gateway: '127.0.0.1', self: '127.0.0.1' });
  } else {
    machines.push(...spaced);
  }
  const gateways = [...new Set(machines.map((m) => m.gateway))];
  redis = await startRedis({ bind: ['127.0.0.1', ...gateways.filter((g) => g !== '127.0.0.1')] });
  for (const g of gateways) servers.push(await countingServer(20, g));
});

afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  for (const s of servers) await s.stop();
  await redis?.stop();
  removeNamespaces(machines);
});

describe('scaling out: one Redis, several machines', () => {
  it('spreads jobs over two worker groups started as separate process trees (in their own network namespaces when allowed)', async () => {
    const queue = new Queue('machines', { connection: { url: redis.url } });
    for (const [i, m] of machines.entries()) {
      const server = servers[Math.min(i, servers.length - 1)]!;
      const cmd = [process.execPath, '--import', 'tsx', 'test/fixtures/bullmq-cli.ts', '--queue', 'machines', '-c', '50', '-p', '1',
        '--redis', `redis://${m.gateway}:${redis.port}`, 'test/fixtures/bullmq-processor.ts'];
      // Each machine reaches the host through its own gateway (BULLMQ_TEST_GATEWAY), where
      // a server of its own listens: the job data maps gateways to ports.
      const env = { BULLMQ_TEST_GATEWAY: m.gateway };
      const p = m.ns === null ? startProc(cmd[0]!, cmd.slice(1), env) : startProc('ip', ['netns', 'exec', m.ns, ...cmd], env);
      procs.push(p);
      await p.waitFor(/process\(es\) x 50 greenlets/, 30_000);
      expect(server.port).toBeGreaterThan(0);
    }
    const ports = Object.fromEntries(servers.map((s, i) => [machines[i]!.gateway, s.port]));
    await queue.addBulk(Array.from({ length: 400 }, () => ({ name: 'http', data: { kind: 'http', port: 0, ports } })));
    await until(async () => (await queue.getJobCounts('completed')).completed === 400, 60_000, '400 completed jobs');
    const done = await queue.getCompleted(0, -1);
    const pids = new Set(done.map((j) => j.returnvalue.pid));
    expect(pids.size).toBe(2); // both groups took jobs
    if (machines[0]!.ns !== null) {
      // The requests came from both machines' own addresses.
      const from = new Map<string, number>();
      for (const s of servers) for (const [addr, count] of s.from) from.set(addr.replace(/^::ffff:/, ''), count);
      expect([...from.keys()].sort()).toEqual(machines.map((m) => m.self).sort());
      for (const m of machines) expect(from.get(m.self)).toBeGreaterThan(0);
    }
    const hits = servers.reduce((n, s) => n + [...s.hits.values()].reduce((a, b) => a + b, 0), 0);
    expect(hits).toBe(400);
    for (const p of procs) p.child.kill('SIGTERM');
    for (const p of procs) expect((await p.exited(30_000)).code).toBe(0);
    await queue.close();
  }, 120_000);
});
