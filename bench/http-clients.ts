// The price of owning HTTP requests by the request: requests/s of npm undici's
// `request`, global `fetch` and `http.get` (keep-alive Agent), 50 concurrent callers on
// keep-alive connections to a hello-world server in another process, unpatched vs
// patched (each caller a greenlet when patched), and the client's CPU time per request.
// Target: patched >= 0.95x.
import { spawn as spawnChild } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { defineWorkload } from './lib.js';

const DURATION_MS = Number(process.env.DURATION ?? 3) * 1000;
const CONCURRENCY = 50;
const SERVER = "require('http').createServer((q, r) => r.end('hello world')).listen(0, '127.0.0.1', function () { console.log(this.address().port) })";

type Client = 'undici' | 'fetch' | 'http';

async function run(client: Client, patched: boolean) {
  let spawnFn = (fn: () => Promise<void>): Promise<unknown> => fn();
  if (patched) {
    const { patchAll } = await import('../src/monkey.js');
    const { spawn } = await import('../src/index.js');
    patchAll({ warnLate: false });
    spawnFn = (fn) => spawn(fn).join();
  }
  const undici = await import('undici');
  const server = spawnChild(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(server.stdout!, 'data')) as [Buffer];
  const url = `http://127.0.0.1:${line.toString().trim()}/`;
  const agent = new http.Agent({ keepAlive: true });
  const get: Record<Client, () => Promise<unknown>> = {
    undici: async () => (await undici.request(url)).body.text(),
    fetch: async () => (await fetch(url)).text(),
    http: () => new Promise((resolve, reject) => {
      http.get(url, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
    }),
  };
  let count = 0;
  const end = performance.now() + DURATION_MS;
  const caller = async (): Promise<void> => {
    while (performance.now() < end) {
      await get[client]();
      count++;
    }
  };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, () => spawnFn(caller)));
  const rps = (count * 1000) / (performance.now() - t0);
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  server.kill();
  // CPU time of this (client) process per request: what the patch adds, less noisy than
  // requests/s on a shared machine.
  return { req_per_s: Math.round(rps), cpu_us_per_req: Math.round((cpu.user + cpu.system) / count) };
}

const clients: Client[] = ['undici', 'fetch', 'http'];
export default defineWorkload({
  name: 'http_clients',
  description: `${CONCURRENCY} concurrent callers for ${DURATION_MS / 1000} s, keep-alive: requests/s patched vs unpatched`,
  variants: Object.fromEntries(clients.flatMap((c) => [[`${c}_unpatched`, () => run(c, false)], [`${c}_patched`, () => run(c, true)]])),
  ratios: clients.flatMap((c) => [
    { label: `${c} patched / unpatched (req/s)`, metric: 'req_per_s', numerator: `${c}_patched`, denominator: `${c}_unpatched`, target: 0.95 },
    { label: `${c} patched / unpatched (CPU per request)`, metric: 'cpu_us_per_req', numerator: `${c}_patched`, denominator: `${c}_unpatched` },
  ]),
});
