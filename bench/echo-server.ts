// TCP echo: 100 connections x 1,000 round trips of 64 bytes on 127.0.0.1, driven from a
// separate process (../shared/bench/gevent/echo_driver.c, built with gcc into a temp dir;
// a Node driver when gcc is missing). greenio's StreamServer beside a raw `net` server
// with the same handler body (event style, and for-await style), and StreamServer in 2
// cluster workers (runWorkers); gevent's StreamServer figure as the reference.
import { execFile, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWorkers } from '../src/cluster.js';
import { StreamServer } from '../src/server.js';
import { defineWorkload, type Metrics } from './lib.js';

const C = Number(process.env.C ?? 100);
const R = Number(process.env.R ?? 1000);
const MSG = 64;
const SELF = fileURLToPath(import.meta.url);
const DRIVER_SRC = fileURLToPath(new URL('../../shared/bench/gevent/echo_driver.c', import.meta.url));

// The same handler bodies for greenio and raw Node: only the server around them differs.
function onData(socket: Socket): Promise<unknown> {
  socket.setNoDelay(true);
  socket.on('data', (d) => socket.write(d));
  return once(socket, 'close');
}
async function iterate(socket: Socket): Promise<void> {
  socket.setNoDelay(true);
  for await (const chunk of socket) socket.write(chunk as Buffer);
}

/** Run the driver against `port`; resolves to its JSON (round_trips_per_s, latencies). */
async function drive(port: number): Promise<Metrics> {
  const dir = mkdtempSync(join(tmpdir(), 'greenio-echo-'));
  try {
    let cmd: string;
    let args: string[];
    try {
      cmd = join(dir, 'echo_driver');
      execFileSync('gcc', ['-O2', '-o', cmd, DRIVER_SRC], { stdio: 'ignore' });
      args = [String(port), String(C), String(R), String(MSG)];
    } catch {
      cmd = process.execPath; // no gcc: a Node driver (this file, in driver role)
      args = ['--import', 'tsx', SELF];
    }
    const out = await new Promise<string>((resolve, reject) => {
      execFile(cmd, args, { env: { ...process.env, ECHO_DRIVER_PORT: String(port) }, timeout: 120_000 }, (e, stdout) => (e ? reject(e) : resolve(stdout)));
    });
    const d = JSON.parse(out.trim().split('\n').pop()!) as Metrics;
    if (d.round_trips !== C * R) throw new Error(`driver made ${d.round_trips} round trips, expected ${C * R}`);
    return { round_trips_per_s: d.round_trips_per_s!, lat_p50_us: d.lat_p50_us!, lat_p99_us: d.lat_p99_us!, driver: existsSync(cmd) && cmd !== process.execPath ? 1 : 0 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Drive a server running in this process; adds the server's CPU seconds. */
async function driveHere(port: number): Promise<Metrics> {
  const cpu0 = process.cpuUsage();
  const m = await drive(port);
  const cpu = process.cpuUsage(cpu0);
  return { ...m, server_cpu_s: (cpu.user + cpu.system) / 1e6 };
}

async function withRaw(handler: (s: Socket) => unknown): Promise<Metrics> {
  const server: Server = createServer((s) => void handler(s));
  server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 });
  await once(server, 'listening');
  const m = await driveHere((server.address() as { port: number }).port);
  server.close();
  return m;
}

async function withGreenio(handler: (s: Socket) => unknown): Promise<Metrics> {
  const server = new StreamServer({ host: '127.0.0.1', port: 0 }, handler, { backlog: 1024 });
  await server.start();
  const m = await driveHere(server.address!.port);
  await server.stop();
  return m;
}

// A Node driver, for machines without gcc: C connections, each R strict round trips.
async function nodeDriver(port: number): Promise<void> {
  const payload = Buffer.alloc(MSG, 'x');
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: C }, async () => {
    const s = connect(port, '127.0.0.1');
    s.setNoDelay(true);
    await once(s, 'connect');
    for (let i = 0; i < R; i++) {
      const t = performance.now();
      s.write(payload);
      let got = 0;
      while (got < MSG) got += ((await once(s, 'data'))[0] as Buffer).length;
      lat.push(performance.now() - t);
    }
    s.destroy();
  }));
  const wall = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  console.log(JSON.stringify({ round_trips: lat.length, wall_s: wall, round_trips_per_s: lat.length / wall, lat_p50_us: lat[lat.length >> 1]! * 1000, lat_p99_us: lat[Math.floor(lat.length * 0.99)]! * 1000 }));
}

if (process.env.ECHO_ROLE === 'cluster-worker') {
  // One of the runWorkers() processes of the cluster variant.
  await new StreamServer({ host: '127.0.0.1', port: 0 }, onData, { backlog: 1024 }).serveForever();
} else if (process.env.ECHO_DRIVER_PORT !== undefined && !process.argv.includes('--variant')) {
  await nodeDriver(Number(process.env.ECHO_DRIVER_PORT));
}

export default defineWorkload({
  name: 'echo_server',
  description: `TCP echo, ${C} connections x ${R} round trips of ${MSG} B, driven from another process; round trips per second`,
  variants: {
    raw: () => withRaw(onData),
    greenio: () => withGreenio(onData),
    raw_iter: () => withRaw(iterate),
    greenio_iter: () => withGreenio(iterate),
    async greenio_cluster2() {
      // This process's loader flags: the workers run greenio's build in dist/ (bench/_dist.mjs,
      // unless BENCH_SRC=1) as this process does, not tsx's rendering of the sources.
      const group = runWorkers(2, SELF, { execArgv: process.execArgv, env: { ECHO_ROLE: 'cluster-worker' } });
      try {
        const { port } = await group.listening({ timeout: 60_000 });
        return await drive(port);
      } finally {
        await group.stop();
      }
    },
  },
  gevent: { script: 'echo_server.py', variants: { gevent: { round_trips_per_s: 'cdrv_round_trips_per_s' } } },
  ratios: [
    { label: 'greenio / raw net (data events)', metric: 'round_trips_per_s', numerator: 'greenio', denominator: 'raw', target: 0.9 },
    { label: 'greenio / raw net (for await)', metric: 'round_trips_per_s', numerator: 'greenio_iter', denominator: 'raw_iter', target: 0.9 },
    { label: 'greenio / Python gevent StreamServer', metric: 'round_trips_per_s', numerator: 'greenio', denominator: 'gevent', target: 1 },
    { label: 'greenio 2 cluster workers / 1 process', metric: 'round_trips_per_s', numerator: 'greenio_cluster2', denominator: 'greenio', target: 1.5 },
  ],
});
