#!/usr/bin/env node
// Two builds of greenio against each other and unpatched, for one client: CPU per op of
// bench/clients-proc.ts's children (each its own process, alone with the servers), the
// sides interleaved and rotated each cycle, medians of paired differences. For a
// before/after on a loaded machine: both builds meet the same load swings. Build both
// first (`npx tsc -p tsconfig.build.json`; the old one e.g. `git archive <commit> src
// patches tsconfig*.json package.json | tar -x -C /tmp/old`, node_modules linked, tsc there).
//   GREENIO_BENCH_SERVERS=... node bench/_clients-dist-ab.mjs <lib> <old dist/src> [cycles=5] [ops=20000] [rounds=3]
// (GREENIO_BENCH_SERVERS: printed by `node --import tsx bench/clients-proc.ts <libs> --serve`.)
// Run it with the node binary to measure; the children use the same one.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const [lib, oldDist, cyclesArg, opsArg, roundsArg] = process.argv.slice(2);
if (lib === undefined || oldDist === undefined) throw new TypeError(`usage: _clients-dist-ab.mjs <lib> <old dist/src> [cycles] [ops] [rounds], got ${JSON.stringify(process.argv.slice(2))}`);
const cycles = Number(cyclesArg ?? 5);
const ops = Number(opsArg ?? 20000);
const rounds = Number(roundsArg ?? 3);
const proc = resolve(import.meta.dirname, 'clients-proc.ts');
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

function child(side, dist) {
  const env = { ...process.env };
  if (dist !== undefined) env.GREENIO_BENCH_DIST = resolve(dist);
  else delete env.GREENIO_BENCH_DIST;
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ['--import', 'tsx', proc, '--child', lib, side, String(ops), String(rounds)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) return rej(new Error(`child ${side} exited ${code}: ${out}`));
      const r = JSON.parse(line);
      res({ cpu: (median(r.cpu) * 1e3) / ops, opsPerS: (ops / median(r.ms)) * 1000 });
    });
  });
}

const sides = [['u', undefined], ['old', oldDist], ['new', undefined]];
const got = { u: [], old: [], new: [] };
for (let k = 0; k < cycles; k++) {
  for (let j = 0; j < sides.length; j++) {
    const [name, dist] = sides[(j + k) % sides.length];
    got[name].push(await child(name === 'u' ? 'u' : 'p', dist));
  }
}
const cpu = (s) => got[s].map((r) => r.cpu);
const extra = (s) => Math.round(median(cpu(s).map((c, i) => c - got.u[i].cpu)));
const ratio = (s) => +median(cpu(s).map((c, i) => got.u[i].cpu / c)).toFixed(3);
const wall = (s) => +median(got[s].map((r, i) => r.opsPerS / got.u[i].opsPerS)).toFixed(3);
console.log(JSON.stringify({
  lib, node: process.version, cycles, ops, rounds,
  unpatched_cpu_ns: Math.round(median(cpu('u'))),
  old: { extra_cpu_ns: extra('old'), cpu_ratio: ratio('old'), wall_ratio: wall('old') },
  new: { extra_cpu_ns: extra('new'), cpu_ratio: ratio('new'), wall_ratio: wall('new') },
  new_minus_old_cpu_ns: Math.round(median(cpu('new').map((c, i) => c - got.old[i].cpu))),
}));
