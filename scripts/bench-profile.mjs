#!/usr/bin/env node
// `node scripts/bench-profile.mjs <bench file> <variant> <ops> [node binary]`: run one
// bench variant under `--cpu-prof` and say where its main-thread time went, per op
// (`ops` = the operations the whole run made, warm-up included). A sample counts for
// greenio when the nearest frame of this repository on its stack is in (dist/)src/ or patches/
// (so the Node internals greenio calls, e.g. performance.now or a promise, count for it);
// for the program when it is in bench/; else for Node (idle, GC and natives apart).
// Only the variant's run is sampled (bench/lib.ts starts the profiler), every 250 µs
// (`PROF_INTERVAL_US`). Limits: sampling; main thread only; `ops` must match the workload.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build, loaderArgs, root } from './bench-lib.mjs';

const [file, variant, opsArg, bin = join(root, 'node_modules/node/bin/node')] = process.argv.slice(2);
const ops = Number(opsArg);
if (!file || !variant || !(ops > 0)) {
  console.error('usage: node scripts/bench-profile.mjs bench/<file>.ts <variant> <ops> [node]');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'greenio-prof-'));
build();
const p = spawnSync(bin, [...loaderArgs(), resolve(root, file), '--variant', variant], {
  cwd: root, encoding: 'utf8', env: { ...process.env, BENCH_CPU_PROF: join(dir, 'run.cpuprofile') }, timeout: 600_000,
});
if (p.status !== 0) { console.error(p.stderr); process.exit(1); }
const result = JSON.parse(p.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop());
const prof = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))), 'utf8'));
rmSync(dir, { recursive: true, force: true });

const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const inRepo = (url) => url.includes(root) && !url.includes('node_modules');
const rel = (url) => url.slice(url.indexOf(root) + root.length + 1);
const short = (f) => `${f.functionName || '(anonymous)'} ${f.url ? (inRepo(f.url) ? rel(f.url) : f.url.replace(/^node:/, '')) : ''}:${f.lineNumber + 1}`;

// Attribute each sample once (time = the delta that follows it).
const cats = { greenio: 0, program: 0, node: 0, gc: 0, idle: 0 };
const greenFn = new Map(); // nearest greenio frame -> µs
const greenLeaf = new Map(); // Node internal leaf called from greenio -> µs
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i + 1] ?? 0;
  const leaf = byId.get(prof.samples[i]);
  const name = leaf.callFrame.functionName;
  if (name === '(idle)') { cats.idle += dt; continue; }
  if (name === '(garbage collector)') { cats.gc += dt; continue; }
  let n = leaf;
  while (n && !inRepo(n.callFrame.url)) n = byId.get(parent.get(n.id));
  if (!n) { cats.node += dt; continue; }
  const url = rel(n.callFrame.url);
  // greenio's files: the build's (dist/src, dist/patches), or the sources' with BENCH_SRC=1.
  if (/^(dist\/)?(src|patches)\//.test(url)) {
    cats.greenio += dt;
    const k = short(n.callFrame);
    greenFn.set(k, (greenFn.get(k) ?? 0) + dt);
    if (n !== leaf) { const l = short(leaf.callFrame); greenLeaf.set(l, (greenLeaf.get(l) ?? 0) + dt); }
  } else cats.program += dt;
}
const ns = (us) => ((us * 1000) / ops).toFixed(0);
const busy = cats.greenio + cats.program + cats.node + cats.gc;
console.log(`${file} ${variant} on ${spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim()}: ${JSON.stringify(result)}`);
console.log(`main thread per op (ns): busy ${ns(busy)} = greenio ${ns(cats.greenio)} + program ${ns(cats.program)} + node ${ns(cats.node)} + gc ${ns(cats.gc)}; idle ${ns(cats.idle)}`);
const top = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).filter(([, us]) => (us * 1000) / ops >= 1);
for (const [f, us] of top(greenFn, 12)) console.log(`  greenio ${ns(us).padStart(5)} ns  ${f}`);
for (const [f, us] of top(greenLeaf, 8)) console.log(`    of which in ${ns(us).padStart(5)} ns  ${f}`);
