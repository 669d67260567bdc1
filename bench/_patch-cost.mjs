#!/usr/bin/env node
// greenio's price on Node's IO in instructions per op (callgrind: repeatable on a loaded
// machine, unlike timings): bench/_patch-ops.ts bundled, each mode run under
// `valgrind --tool=callgrind` at two sizes, (I(n2) - I(n1)) / (n2 - n1), then each mode
// minus `unpatched`: what the patch (or the bare floor wrapper) adds per op. TREES names the
// trees counted: `now` (the working tree) and/or commits (git archive), for a before/after;
// `<tree>-<part>` counts that tree with one of greenio's per-op parts taken out (PARTS below),
// so the difference is that part's price.
// Counts the main thread and libuv's (a stat's syscall itself runs in the kernel: not counted).
// Run: node bench/_patch-cost.mjs [node binary]   (SIZES=1000,5000 WORKS=stat_cb,stat_promise,echo
//      MODES=unpatched,floor,patched,greenlets TREES=now or TREES=<commit>,now JOBS=1 WARM=10000)
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const node = resolve(process.argv[2] ?? join(root, 'node_modules/node/bin/node'));
const [n1, n2] = (process.env.SIZES ?? '1000,5000').split(',').map(Number);
const works = (process.env.WORKS ?? 'stat_cb,stat_promise,echo').split(',');
const modes = (process.env.MODES ?? 'unpatched,floor,patched,greenlets').split(',');
const dir = mkdtempSync(join(tmpdir(), 'greenio-patch-cost-'));
const FILES = ['bench/_patch-ops.ts', 'bench/_loopback-echo.ts', 'bench/_floor.ts'];

// Each part's per-op work, taken out (every edit must apply exactly once).
const PARTS = {
  clock: [['src/hub/turnclock.ts', 'export function hubNow(): number {', 'export function hubNow(): number {\n  return 0;']],
  channels: [
    ['src/hub/channels.ts', 'return startWatched && (ioStartPlain.hasSubscribers || opTracingOn());', 'return false;'],
    ['src/hub/channels.ts', 'return (endWatched && ioEndPlain.hasSubscribers) || tracedOps !== 0;', 'return false;'],
  ],
  account: [['src/hub/kinds.ts', 'export function account(k: Kind, g: IoTotals, ms: number): void {', 'export function account(k: Kind, g: IoTotals, ms: number): void {\n  if (k !== null) return;']],
};

function bundle(name, ref, part) {
  const t = join(dir, name);
  mkdirSync(t);
  if (ref !== null) {
    const tar = join(dir, `${name}.tar`);
    execFileSync('git', ['archive', '-o', tar, ref, 'src', 'patches', 'bench/_loopback-echo.ts'], { cwd: root });
    execFileSync('tar', ['-xf', tar, '-C', t]);
    for (const f of FILES) cpSync(join(root, f), join(t, f)); // the same load on both sides
  } else {
    for (const d of ['src', 'patches']) cpSync(join(root, d), join(t, d), { recursive: true });
    mkdirSync(join(t, 'bench'));
    for (const f of FILES) cpSync(join(root, f), join(t, f));
  }
  for (const [file, from, to] of part ? PARTS[part] : []) {
    const path = join(t, file);
    const text = readFileSync(path, 'utf8');
    if (text.split(from).length !== 2) throw new Error(`${file}: expected one \`${from}\` (the tree changed: update PARTS)`);
    writeFileSync(path, text.replace(from, to));
  }
  const out = join(t, 'ops.mjs');
  execFileSync(join(root, 'node_modules/.bin/esbuild'), [join(t, FILES[0]), '--bundle', '--platform=node', '--format=esm', '--packages=external', '--target=node20', `--outfile=${out}`, '--log-level=warning']);
  return out;
}

// One callgrind run: resolves to its instruction count. JOBS=<n> runs that many at once
// (counts do not depend on load; each run has its own output file).
let runs = 0;
function instructions(file, work, n, mode) {
  const outFile = join(dir, `callgrind.out.${++runs}`);
  return new Promise((resolveRun, reject) => {
    const child = spawn('valgrind', ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${outFile}`, node, '--single-threaded', '--expose-gc', file, work, String(n), mode], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => {
      const m = /Collected : (\d+)/.exec(stderr);
      if (status !== 0 || m === null) reject(new Error(`callgrind failed (${work} ${n} ${mode}):\n${stderr.slice(-1500)}`));
      else resolveRun(Number(m[1]));
    });
  });
}

// At most JOBS promises of `tasks` (functions) running at once; results in order.
async function pool(tasks, jobs) {
  const out = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, async () => {
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
    return [spec.slice(0, 20), bundle(`tree${i}`, t === 'now' ? null : t, part)];
  });
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const jobs = Number(process.env.JOBS ?? 1);
  const combos = works.flatMap((work) => trees.flatMap(([tree, file]) => modes.map((mode) => ({ work, tree, file, mode }))));
  const counts = await pool(combos.flatMap((c) => [n1, n2].map((n) => () => instructions(c.file, c.work, n, c.mode))), jobs);
  for (const work of works) {
    for (const [tree] of trees) {
      const perOp = {};
      combos.forEach((c, i) => {
        if (c.work === work && c.tree === tree) perOp[c.mode] = (counts[2 * i + 1] - counts[2 * i]) / (n2 - n1);
      });
      const base = perOp.unpatched;
      const added = Object.fromEntries(modes.filter((m) => m !== 'unpatched').map((m) => [m, Math.round(perOp[m] - base)]));
      // Throughput ratios if time followed instructions: unpatched / mode.
      const ratio = Object.fromEntries(modes.filter((m) => m !== 'unpatched').map((m) => [m, Math.round((base / perOp[m]) * 1000) / 1000]));
      console.log(JSON.stringify({ node: version, tree, work, sizes: [n1, n2], warm: Number(process.env.WARM ?? 10000), unpatched_per_op: Math.round(base), added_per_op: added, ratio_if_cpu_bound: ratio }));
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
