#!/usr/bin/env node
// The hub op's fixed cost, before/after, in one process (run by hand, not a workload): two
// copies of greenio bundled side by side, `now` (the working tree) and `before` (the working
// tree with BEFORE's files taken from git BASE, so only those files differ), interleaved over
// ROUNDS; per op, the median of main-thread CPU ns (process.threadCpuUsage, Node >= 23.9;
// else the process's). Works: `begin` (hub.begin + op.end in a greenlet: a callback IO's op
// without the IO), `ring64` (64 ops in flight in main, one ended and one begun per op), `wait`
// (a hub.wait settled at once), `sleep0` (await sleep(0): one op per loop turn).
// Run: node bench/_hub-op-ab.mjs [begin,ring64,wait,sleep0]   (ROUNDS=15 N=100000 BASE=HEAD
// BEFORE=src/hub/channels.ts,src/hub/op-channels.ts,src/hub/ops.ts; BEFORE= compares two identical copies). With a
// second argument `callgrind`: instructions per op of each copy instead (SIZES=2000,12000 WARM=20000).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const N = Number(process.env.N ?? 100_000);
const works = (process.argv[2] ?? 'begin,wait,sleep0').split(',');
const BASE = process.env.BASE ?? 'HEAD';
const BEFORE = (process.env.BEFORE ?? 'src/hub/channels.ts,src/hub/op-channels.ts,src/hub/ops.ts').split(',').filter(Boolean);
const ENTRY = `
import * as hub from './src/hub/index.js';
import { spawn, sleep } from './src/index.js';
const K = hub.kind('bench.op');
const NONE = {};
const NOW = { start(op) { op.resolve(1); } };
export const works = {
  begin: (n) => spawn(() => { for (let i = 0; i < n; i++) hub.begin(K, null, NONE).end(); }).get(),
  wait: (n) => spawn(async () => { for (let i = 0; i < n; i++) await hub.wait(K, null, NOW); }).get(),
  ring64: async (n) => {
    const ring = [];
    for (let i = 0; i < 64; i++) ring.push(hub.begin(K, null, NONE));
    for (let i = 0; i < n; i++) {
      ring[i & 63].end();
      ring[i & 63] = hub.begin(K, null, NONE);
    }
    for (const op of ring) op.end();
  },
  sleep0: (n) => spawn(async () => { for (let i = 0; i < n; i++) await sleep(0); }).get(),
};
`;

// A child under callgrind: one copy, one work, WARM ops, a full GC, then n ops.
if (process.env.ONE !== undefined) {
  const { works: w } = await import(process.env.ONE);
  await w[process.env.WORK](Number(process.env.WARM ?? 20000));
  globalThis.gc?.();
  await w[process.env.WORK](Number(process.env.COUNT_N));
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'greenio-hub-op-'));
function bundle(name, fromHead) {
  const t = join(dir, name);
  for (const d of ['src', 'patches']) cpSync(join(root, d), join(t, d), { recursive: true });
  for (const f of fromHead) writeFileSync(join(t, f), execFileSync('git', ['show', `${BASE}:${f}`], { cwd: root }));
  writeFileSync(join(t, 'entry.ts'), ENTRY);
  const out = join(t, 'entry.mjs');
  execFileSync(join(root, 'node_modules/.bin/esbuild'), [join(t, 'entry.ts'), '--bundle', '--platform=node', '--format=esm', '--packages=external', '--target=node20', `--outfile=${out}`, '--log-level=warning']);
  return out;
}

const threadCpu = process.threadCpuUsage;
const cpuNs = () => {
  const u = threadCpu ? threadCpu.call(process) : process.cpuUsage();
  return (u.user + u.system) * 1000;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Instructions per op (callgrind; V8 --single-threaded, or its background GC and compiler
// threads make counts differ by thousands per op between identical copies):
// (I(n2) - I(n1)) / (n2 - n1) for each copy.
function counted(file, work) {
  const [n1, n2] = (process.env.SIZES ?? '2000,12000').split(',').map(Number);
  const at = (n) => {
    const out = join(dir, 'cg.out');
    const env = { ...process.env, ONE: file, WORK: work, COUNT_N: String(n) };
    const r = spawnSync('valgrind', ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}`, process.execPath, '--single-threaded', '--expose-gc', import.meta.filename], { encoding: 'utf8', env });
    const m = /Collected : (\d+)/.exec(r.stderr);
    if (r.status !== 0 || m === null) throw new Error(`callgrind failed: ${r.stderr.slice(-800)}`);
    return Number(m[1]);
  };
  return (at(n2) - at(n1)) / (n2 - n1);
}

try {
  if (process.argv[3] === 'callgrind') {
    const files = { before: bundle('before', BEFORE), now: bundle('now', []) };
    for (const work of works) {
      const b = counted(files.before, work);
      const a = counted(files.now, work);
      console.log(JSON.stringify({ node: process.version, work, instructions_per_op: { before: Math.round(b), now: Math.round(a), saved: Math.round(b - a) } }));
    }
  } else {
    const copies = { before: await import(bundle('before', BEFORE)), now: await import(bundle('now', [])) };
    for (const work of works) {
      const ns = { before: [], now: [] };
      for (let r = 0; r <= ROUNDS; r++) {
        // Alternate which copy goes first, so neither always runs after the other's garbage.
        for (const name of r % 2 === 0 ? ['before', 'now'] : ['now', 'before']) {
          const c0 = cpuNs();
          await copies[name].works[work](N);
          if (r > 0) ns[name].push((cpuNs() - c0) / N);
        }
      }
      const b = median(ns.before);
      const a = median(ns.now);
      console.log(JSON.stringify({ node: process.version, work, n: N, rounds: ROUNDS, before_ns: Math.round(b), now_ns: Math.round(a), saved_ns: Math.round(b - a), speedup: Math.round((b / a) * 1000) / 1000 }));
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
