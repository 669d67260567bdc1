#!/usr/bin/env node
// greenio's own JavaScript per patched callback call, counted exactly (run by hand, not a
// workload): the callback convention's wrapper (patches/callback-wrapper.ts) over an
// in-memory `stat(path, cb)` whose callbacks run in a batch per loop turn (as libuv's
// completions do, each in its caller's context), 64 chains each calling it again from its callback: in main (`main`), each
// chain its own greenlet (`greenlets`), or the original unwrapped (`bare`), or under
// bench/_floor.ts's floor wrapper in main (`floor`) or each chain in a context of its own
// (`floor_g`: the floor of `greenlets`). No thread and no
// syscall, so under `valgrind --tool=callgrind` with V8 `--single-threaded` the count repeats
// to a few instructions, unlike bench/_patch-cost.mjs's real fs.stat (libuv threads, GC).
// Instructions per call = (I(n2) - I(n1)) / (n2 - n1) after WARM calls and a full GC.
// Trees: `now` (the working tree) and/or commits (git archive), for a before/after;
// `<tree>-<part>` counts that tree with one of greenio's per-call parts taken out (PARTS
// below), so the difference is that part's price.
// Run: node bench/_patch-count.mjs [node binary]   (TREES=HEAD,now,now-clock SHAPES=bare,floor,main,greenlets
//      SIZES=4000,16000 WARM=40000 JOBS=4 BATCH=64); ALLOC=1: bytes allocated per call instead (Node >= 26).
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const node = resolve(process.argv[2] ?? join(root, 'node_modules/node/bin/node'));
const [n1, n2] = (process.env.SIZES ?? '4000,16000').split(',').map(Number);
const WARM = Number(process.env.WARM ?? 40000);
const shapes = (process.env.SHAPES ?? 'bare,main,greenlets').split(',');
const JOBS = Number(process.env.JOBS ?? 2);
const dir = mkdtempSync(join(tmpdir(), 'greenio-patch-count-'));

// The load: C chains of n/C calls each; the fake original completes a turn's calls together.
const ENTRY = `
import v8 from 'node:v8';
import { AsyncResource } from 'node:async_hooks';
import * as hub from './src/hub/index.js';
import { spawn } from './src/index.js';
import { callbackWrapper } from './patches/conventions.js';
import { floorRun, floorStat } from './bench/_floor.ts';
const [shape, nStr, warmStr] = process.argv.slice(2);
const C = 64;
const STATS = { size: 1 };
let batch = [];
// Each call's callback runs in the caller's async context, as a libuv request's does (its
// AsyncWrap): without that, a batch's callbacks would all run in the first caller's greenlet.
function drain() {
  const b = batch;
  batch = [];
  for (let i = 0; i < b.length; i += 2) b[i].runInAsyncScope(b[i + 1], null, null, STATS);
}
// BATCH: at most that many completions per loop turn (libuv's threads deliver a few at a
// time; 64 at once let the hub clock's turn sharing halve the reads).
const BATCH = 2 * Number(process.env.BATCH ?? 64);
function drainSome() {
  const b = batch.splice(0, BATCH);
  if (batch.length > 0) setImmediate(drainSome);
  for (let i = 0; i < b.length; i += 2) b[i].runInAsyncScope(b[i + 1], null, null, STATS);
}
function fakeStat(path, cb) {
  if (batch.length === 0) setImmediate(BATCH >= 128 ? drain : drainSome);
  batch.push(new AsyncResource('FAKESTAT'), cb);
}
const floor = shape === 'floor' || shape === 'floor_g';
const stat = shape === 'bare' ? fakeStat : floor ? floorStat(fakeStat) : callbackWrapper({ kind: hub.kind('fs.stat') })(fakeStat);
const chain = (n) => new Promise((res, rej) => {
  let left = n;
  const next = (err) => {
    if (err) return rej(err);
    if (left-- === 0) return res();
    stat('/etc/hostname', next);
  };
  next();
});
const run = shape === 'greenlets' ? (fn) => spawn(fn).get() : shape === 'floor_g' ? floorRun : (fn) => fn();
const load = (n) => Promise.all(Array.from({ length: C }, () => run(() => chain(Math.ceil(n / C)))));
await load(Number(warmStr));
globalThis.gc();
// Node < 26 has no allocation counter: heap growth, exact while no scavenge runs (ALLOC runs
// give the young generation 256 MB).
const heap = () => { const h = v8.getHeapStatistics(); return h.total_allocated_bytes ?? h.used_heap_size; };
const before = heap();
await load(Number(nStr));
const bytes = heap() - before;
console.log(JSON.stringify({ bytes }));
`;

// Each part's per-call work, taken out (every edit must apply exactly once).
const PARTS = {
  clock: [['src/hub/turnclock.ts', 'export function hubNow(): number {', 'export function hubNow(): number {\n  return 0;']],
  account: [['src/hub/kinds.ts', 'export function account(k: Kind, g: IoTotals, ms: number): void {', 'export function account(k: Kind, g: IoTotals, ms: number): void {\n  if (k !== null) return;']],
};

function bundle(name, ref, part) {
  const t = join(dir, name);
  mkdirSync(t);
  if (ref !== null) {
    const tar = join(dir, `${name}.tar`);
    execFileSync('git', ['archive', '-o', tar, ref, 'src', 'patches'], { cwd: root });
    execFileSync('tar', ['-xf', tar, '-C', t]);
  } else {
    for (const d of ['src', 'patches']) cpSync(join(root, d), join(t, d), { recursive: true });
  }
  mkdirSync(join(t, 'bench'));
  cpSync(join(root, 'bench/_floor.ts'), join(t, 'bench/_floor.ts')); // the same floor on both sides
  for (const [file, from, to] of part ? PARTS[part] : []) {
    const path = join(t, file);
    const text = readFileSync(path, 'utf8');
    if (text.split(from).length !== 2) throw new Error(`${file}: expected one \`${from}\` (the tree changed: update PARTS)`);
    writeFileSync(path, text.replace(from, to));
  }
  writeFileSync(join(t, 'entry.mjs'), ENTRY);
  const out = join(t, 'count.mjs');
  execFileSync(join(root, 'node_modules/.bin/esbuild'), [join(t, 'entry.mjs'), '--bundle', '--platform=node', '--format=esm', '--packages=external', '--target=node20', `--outfile=${out}`, '--log-level=error']);
  return out;
}

let runs = 0;
// One run of `file`: its instruction count (callgrind), or with ALLOC its bytes allocated.
function measure(file, shape, n) {
  const outFile = join(dir, `callgrind.out.${++runs}`);
  // Fixed hash and random seeds, and no address randomisation (setarch -R): V8's tables and
  // heap layout then repeat from run to run (without them the same tree's count moved by
  // hundreds of instructions per call at 12,000 calls apart).
  const args = ['--single-threaded', '--expose-gc', '--hash-seed=1', '--random-seed=1', ...(process.env.V8FLAGS ?? '').split(' ').filter(Boolean), file, shape, String(n), String(WARM)];
  const [cmd, argv] = process.env.ALLOC ? [node, ['--min-semi-space-size=256', '--max-semi-space-size=256', ...args]] : ['setarch', ['-R', 'valgrind', '--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${outFile}`, node, ...args]];
  return new Promise((done, fail) => {
    const child = spawn(cmd, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (status) => {
      const m = process.env.ALLOC ? /"bytes":(\d+)/.exec(out) : /Collected : (\d+)/.exec(err);
      if (status !== 0 || m === null) fail(new Error(`${shape} ${n} failed:\n${err.slice(-1500)}`));
      else done(Number(m[1]));
    });
  });
}

async function pool(tasks) {
  const out = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(JOBS, tasks.length) }, async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  }));
  return out;
}

try {
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  const trees = (process.env.TREES ?? 'now').split(',').map((spec, i) => {
    const [t, part] = spec.split('-');
    return [spec, bundle(`tree${i}`, t === 'now' ? null : t, part)];
  });
  const combos = trees.flatMap(([tree, file]) => shapes.map((shape) => ({ tree, file, shape })));
  const counts = await pool(combos.flatMap((c) => [n1, n2].map((n) => () => measure(c.file, c.shape, n))));
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  for (const [tree] of trees) {
    const per = {};
    combos.forEach((c, i) => {
      if (c.tree === tree) per[c.shape] = process.env.ALLOC ? Math.round(counts[2 * i + 1] / n2) : Math.round((counts[2 * i + 1] - counts[2 * i]) / (n2 - n1));
    });
    console.log(JSON.stringify({ node: version, tree, unit: process.env.ALLOC ? 'bytes per call' : 'instructions per call', warm: WARM, sizes: [n1, n2], ...per }));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
