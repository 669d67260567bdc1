// In-process A/B of issue 18's patch rows (run by hand, not a workload): fs.stat callback
// and promise (64 concurrent chains, in main or in 64 greenlets) and the awaited TCP echo
// (10 greenlets, loopback server in this process), unpatched, patched, and under the bare
// `floor` wrapper (one AsyncLocalStorage getStore plus one closure or owned promise: what
// any patch that records the calling greenlet pays). Rounds interleave the patched and
// calls of the unpatched originals in one process (the load calls whichever set its mode
// names), so a busy machine slows each alike; per op: median
// main-thread CPU ns (process.threadCpuUsage, Node >= 23.9; else the process's CPU) and wall.
// Each mode's GC time per op is measured apart too (v8.GCProfiler, started and stopped around
// each mode's run): it was where the patch's hidden cost went (bench/PROFILE.md, FS18).
// Run: node --import tsx bench/_patch-ab.ts [stat_cb stat_promise echo]   (ROUNDS=9 N=20000 [WORK_NS=300])
// To measure greenio as shipped, add `--import ./bench/_dist.mjs` after `--import tsx` (dist/;
// without it tsx's rendering of src/ is measured, which is not what users run).
import events from 'node:events';
import fs from 'node:fs';
import { spawn } from '../src/index.js';
import { patchAll } from '../src/monkey.js';
import { median } from './lib.js';
import { busyFirst, floorOnce, floorPstat, floorRun, floorStat } from './_floor.js';
import { PAYLOAD, startEchoServer } from './_loopback-echo.js';
import net from 'node:net';
import v8 from 'node:v8';

const ROUNDS = Number(process.env.ROUNDS ?? 9);
const N = Number(process.env.N ?? 20_000);
const FILE = '/etc/hostname';
const works = process.argv.slice(2).length ? process.argv.slice(2) : ['stat_cb', 'stat_promise', 'echo'];
const threadCpu = (process as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage;
const cpuNs = (): number => {
  const u = threadCpu ? threadCpu.call(process) : process.cpuUsage();
  return (u.user + u.system) * 1000;
};
// Its system part apart: a slower main thread can make libuv's threads sleep and need waking.
const sysNs = (): number => (threadCpu ? threadCpu.call(process) : process.cpuUsage()).system * 1000;

type Mode = 'unpatched' | 'floor' | 'floor_work' | 'patched' | 'greenlets';
// WORK_NS=300: also `floor_work`, the floor plus that much busy JavaScript before each call
// (what greenio's own per-op code costs): does the same work without greenio cost as much?
const WORK_MS = Number(process.env.WORK_NS ?? 0) / 1e6;
const MODES: Mode[] = WORK_MS > 0 ? ['unpatched', 'floor', 'floor_work', 'patched', 'greenlets'] : ['unpatched', 'floor', 'patched', 'greenlets'];

// What each mode calls. Captured once (patchAll() once, before the rounds): wrappers made
// per round would start cold in the JIT each time, which a real program never does.
interface Calls {
  stat: typeof fs.stat;
  pstat: typeof fs.promises.stat;
  once: typeof events.once;
  write: (this: net.Socket, b: Buffer) => boolean;
}
const bare: Calls = { stat: fs.stat, pstat: fs.promises.stat, once: events.once, write: net.Socket.prototype.write };

// The floor (bench/_floor.ts): a bare wrapper of each call the load makes.
const floor: Calls = { stat: floorStat(bare.stat), pstat: floorPstat(bare.pstat), once: floorOnce(bare.once), write: bare.write };
const busy = <F extends (...a: never[]) => unknown>(f: F): F => busyFirst(f, WORK_MS * 1e6);
const floorWork: Calls = { stat: floorStat(busy(bare.stat)), pstat: floorPstat(busy(bare.pstat)), once: floorOnce(busy(bare.once)), write: bare.write };
patchAll({ warnLate: false });
const patched: Calls = { stat: fs.stat, pstat: fs.promises.stat, once: events.once, write: net.Socket.prototype.write };

async function echoClient(c: Calls, port: number, trips: number): Promise<void> {
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  await c.once(sock, 'connect');
  for (let i = 0; i < trips; i++) {
    c.write.call(sock, PAYLOAD);
    let got = 0;
    while (got < PAYLOAD.length) got += ((await c.once(sock, 'data')) as [Buffer])[0].length;
  }
  sock.destroy();
}

async function load(work: string, mode: Mode, port: number): Promise<void> {
  const c = mode === 'floor' ? floor : mode === 'floor_work' ? floorWork : mode === 'unpatched' ? bare : patched;
  const C = work === 'echo' ? 10 : 64;
  const statCb = (): Promise<void> => new Promise((res, rej) => c.stat(FILE, (e) => (e ? rej(e) : res())));
  const statP = async (): Promise<void> => void (await c.pstat(FILE));
  const body = work === 'echo'
    ? () => echoClient(c, port, N / 10 / C)
    : async () => {
      const once = work === 'stat_promise' ? statP : statCb;
      for (let i = 0; i < N / C; i++) await once();
    };
  const run = mode === 'greenlets' ? (fn: () => Promise<void>) => spawn(fn).get() as Promise<void>
    : mode === 'floor' || mode === 'floor_work' ? floorRun
    : (fn: () => Promise<void>) => fn();
  await Promise.all(Array.from({ length: C }, () => run(body)));
}

const { port, server } = await startEchoServer();
for (const work of works) {
  const ops = work === 'echo' ? N / 10 : N;
  const cpu: Record<string, number[]> = {};
  const wall: Record<string, number[]> = {};
  const sys: Record<string, number[]> = {};
  const gcNs: Record<string, number[]> = {};
  for (let r = 0; r < ROUNDS + 1; r++) {
    for (const mode of MODES) {
      const s0 = sysNs();
      const c0 = cpuNs();
      const w0 = performance.now();
      const gp = new v8.GCProfiler();
      gp.start();
      await load(work, mode, port);
      const gcUs = gp.stop().statistics.reduce((t, e) => t + e.cost, 0);
      const c = (cpuNs() - c0) / ops;
      const w = ((performance.now() - w0) * 1e6) / ops;
      if (r === 0) continue; // warm-up round
      (cpu[mode] ??= []).push(c);
      (wall[mode] ??= []).push(w);
      (sys[mode] ??= []).push((sysNs() - s0) / ops);
      (gcNs[mode] ??= []).push((gcUs * 1000) / ops);
    }
  }
  const base = median(cpu.unpatched!);
  const baseWall = median(wall.unpatched!);
  const row: Record<string, unknown> = { node: process.version, work, ops, rounds: ROUNDS, cpu_ns_per_op_unpatched: Math.round(base), wall_ns_per_op_unpatched: Math.round(baseWall), gc_ns_per_op_unpatched: Math.round(median(gcNs.unpatched!)) };
  for (const mode of MODES.slice(1)) {
    row[mode] = {
      added_cpu_ns: Math.round(median(cpu[mode]!) - base),
      added_sys_ns: Math.round(median(sys[mode]!) - median(sys.unpatched!)),
      added_gc_ns: Math.round(median(gcNs[mode]!) - median(gcNs.unpatched!)),
      cpu_ratio: Math.round((base / median(cpu[mode]!)) * 1000) / 1000,
      wall_ratio: Math.round((baseWall / median(wall[mode]!)) * 1000) / 1000,
    };
  }
  console.log(JSON.stringify(row));
}
server.close();
