#!/usr/bin/env node
// What the TracingChannels cost with nobody subscribed, and with a subscriber, in
// instructions per op (callgrind: repeatable on a loaded machine, unlike timings). It
// bundles bench/_tracing-ops.ts twice, from this tree and from a copy of src/ and patches/
// whose TracingChannel publication points are taken out (the `hasSubscribers` checks
// reduced to the plain greenio:* channels' that existed before), runs each under
// `valgrind --tool=callgrind` at two sizes, and prints (I(n2) - I(n1)) / (n2 - n1).
// Run: node bench/_tracing-none.mjs [node binary]   (SIZES=2000,10000 WORKS=stat_cb,stat_promise,echo)
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const node = resolve(process.argv[2] ?? join(root, 'node_modules/node/bin/node'));
const [n1, n2] = (process.env.SIZES ?? '2000,10000').split(',').map(Number);
const works = (process.env.WORKS ?? 'stat_cb,stat_promise,echo').split(',');
const dir = mkdtempSync(join(tmpdir(), 'greenio-tracing-none-'));

// The publication points: each edit must apply exactly once, or the baseline is wrong.
const STRIP = [
  ['src/hub/channels.ts', 'return ioStartPlain.hasSubscribers || opTracingOn();', 'return ioStartPlain.hasSubscribers;'],
  ['src/hub/channels.ts', 'return ioEndPlain.hasSubscribers || tracedOps !== 0;', 'return ioEndPlain.hasSubscribers;'],
  ['src/hub/channels.ts', 'return endPlain.hasSubscribers || greenletTracing.hasSubscribers;', 'return endPlain.hasSubscribers;'],
  ['src/greenlet.ts', 'r = greenletTracing.hasSubscribers ? traceGreenletRun(g, fn, g.args) : fn(...(g.args as never[]));', 'r = fn(...(g.args as never[]));'],
];

function tree(name, edits) {
  const t = join(dir, name);
  for (const d of ['src', 'patches']) cpSync(join(root, d), join(t, d), { recursive: true });
  mkdirSync(join(t, 'bench'));
  for (const f of ['_tracing-ops.ts', '_loopback-echo.ts']) cpSync(join(root, 'bench', f), join(t, 'bench', f));
  for (const [file, from, to] of edits) {
    const p = join(t, file);
    const s = readFileSync(p, 'utf8');
    if (s.split(from).length !== 2) throw new Error(`${file}: expected one \`${from}\` (the tree changed: update STRIP)`);
    writeFileSync(p, s.replace(from, to));
  }
  const out = join(t, 'ops.mjs');
  execFileSync(join(root, 'node_modules/.bin/esbuild'), [join(t, 'bench/_tracing-ops.ts'), '--bundle', '--platform=node', '--format=esm', '--packages=external', '--target=node20', `--outfile=${out}`, '--log-level=warning']);
  return out;
}

function instructions(bundle, work, n, mode) {
  const outFile = join(dir, 'callgrind.out');
  const r = spawnSync('valgrind', ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${outFile}`, node, bundle, work, String(n), mode], { encoding: 'utf8', cwd: root });
  const m = /Collected : (\d+)/.exec(r.stderr);
  if (r.status !== 0 || m === null) throw new Error(`callgrind failed (${work} ${n} ${mode}):\n${r.stderr.slice(-1500)}`);
  return Number(m[1]);
}

try {
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  const cur = tree('current', []);
  const base = tree('stripped', STRIP);
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  for (const work of works) {
    const perOp = (bundle, mode) => (instructions(bundle, work, n2, mode) - instructions(bundle, work, n1, mode)) / (n2 - n1);
    const stripped = perOp(base, 'off');
    const none = perOp(cur, 'off');
    const subscribed = perOp(cur, 'tracing');
    const r = (x) => Math.round(x);
    console.log(JSON.stringify({
      node: version, work, sizes: [n1, n2],
      instr_per_op: { stripped: r(stripped), none: r(none), subscribed: r(subscribed) },
      // Throughput ratios if time followed instructions: stripped / none, none / subscribed.
      none_over_stripped: Math.round((stripped / none) * 1000) / 1000,
      subscribed_over_none: Math.round((none / subscribed) * 1000) / 1000,
    }));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
