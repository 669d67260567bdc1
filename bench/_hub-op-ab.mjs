#!/usr/bin/env node
// The hub op's fixed cost, before/after, in one process (run by hand, not a workload): two
// copies of greenio bundled side by side, `now` (the working tree) and `before` (the working
// tree with BEFORE's files taken from git HEAD, so only those files differ), interleaved over
// ROUNDS; per op, the median of main-thread CPU ns (process.threadCpuUsage, Node >= 23.9;
// else the process's). Works: `begin` (hub.begin + op.end in a greenlet: a callback IO's op
// without the IO), `wait` (a hub.wait settled at once), `sleep0` (await sleep(0): one op per
// loop turn). Run: node bench/_hub-op-ab.mjs [begin,wait,sleep0]   (ROUNDS=15 N=100000
// BEFORE=src/hub/channels.ts,src/hub/ops.ts; BEFORE= compares two identical copies)
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const N = Number(process.env.N ?? 100_000);
const works = (process.argv[2] ?? 'begin,wait,sleep0').split(',');
const BEFORE = (process.env.BEFORE ?? 'src/hub/channels.ts,src/hub/ops.ts').split(',');
const ENTRY = `
import * as hub from './src/hub/index.js';
import { spawn, sleep } from './src/index.js';
const K = hub.kind('bench.op');
const NONE = {};
const NOW = { start(op) { op.resolve(1); } };
export const works = {
  begin: (n) => spawn(() => { for (let i = 0; i < n; i++) hub.begin(K, null, NONE).end(); }).get(),
  wait: (n) => spawn(async () => { for (let i = 0; i < n; i++) await hub.wait(K, null, NOW); }).get(),
  sleep0: (n) => spawn(async () => { for (let i = 0; i < n; i++) await sleep(0); }).get(),
};
`;

const dir = mkdtempSync(join(tmpdir(), 'greenio-hub-op-'));
function bundle(name, fromHead) {
  const t = join(dir, name);
  for (const d of ['src', 'patches']) cpSync(join(root, d), join(t, d), { recursive: true });
  for (const f of fromHead) writeFileSync(join(t, f), execFileSync('git', ['show', `HEAD:${f}`], { cwd: root }));
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

try {
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
} finally {
  rmSync(dir, { recursive: true, force: true });
}
