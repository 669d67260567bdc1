// Runs bench/_resources-then.ts for two trees (THEN, default /tmp/old19/src, and NOW, src)
// and prints now / then per load. Run by hand:
//   NODE=node_modules/.bin/node node bench/_resources-then.mjs cpu LOAD...   PAIRS=7 processes
//     per tree, alternating then/now, each ROUNDS=5 rounds of CYCLES=20000; medians of CPU ns
//     per cycle (process.cpuUsage), ratio then / now (above 1: now costs less)
//   NODE=... node bench/_resources-then.mjs cg LOAD...   callgrind instructions per cycle:
//     each tree at C1 and C2 cycles after the same warm-up (node --single-threaded), the
//     difference of the two runs over C2 - C1; "js" counts JavaScript and builtins only (the
//     collector's and compiler's share moves by hundreds a cycle between runs), "all" the totals.
// GREENIO_SWITCH_INTERVAL is set huge so that both trees take the same path (no deferral).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [mode, ...loads] = process.argv.slice(2);
const NODE = process.env.NODE ?? 'node_modules/.bin/node';
const trees = { then: process.env.THEN ?? '/tmp/old19/src', now: process.env.NOW ?? 'src' };
// SIDES=now (or then): count one tree only (cg), e.g. the other's figure is already known.
const SIDES = (process.env.SIDES ?? 'then,now').split(',');
const env = { ...process.env, GREENIO_SWITCH_INTERVAL: '1000000000' };
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function run(root, load, extra, args = []) {
  return execFileSync(args.length ? 'valgrind' : NODE, [...args, ...(args.length ? [NODE] : []), '--single-threaded', '--expose-gc', '--import', 'tsx', 'bench/_resources-then.ts', load], {
    env: { ...env, ROOT: root, ...extra },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 26,
  });
}

function counts(file) {
  const total = Number(/^totals:\s+(\d+)/m.exec(readFileSync(file, 'utf8'))[1]);
  const ann = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
  let js = 0;
  for (const line of ann.split('\n')) if (/Builtins_|\?\?\?:0x/.test(line)) js += Number(line.trim().split(/\s+/)[0].replace(/,/g, ''));
  return { js, total };
}

if (mode === 'cpu') {
  const PAIRS = Number(process.env.PAIRS ?? 7);
  for (const load of loads) {
    const t = { then: [], now: [] };
    for (let p = 0; p < PAIRS; p++) {
      const order = p % 2 === 0 ? ['then', 'now'] : ['now', 'then'];
      for (const side of order) {
        const out = run(trees[side], load, { ROUNDS: process.env.ROUNDS ?? '5', CYCLES: process.env.CYCLES ?? '20000' });
        t[side].push(JSON.parse(out.trim().split('\n').pop()).ns_per_cycle);
      }
    }
    const ratios = t.then.map((x, i) => x / t.now[i]);
    console.log(JSON.stringify({ load, node: execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim(), then_ns: median(t.then), now_ns: median(t.now), then_over_now: Math.round(median(ratios) * 100) / 100 }));
  }
} else if (mode === 'cg') {
  const C1 = Number(process.env.C1 ?? 10000);
  const C2 = Number(process.env.C2 ?? 50000);
  const dir = mkdtempSync(join(tmpdir(), 'cg19-'));
  for (const load of loads) {
    const r = {};
    for (const side of SIDES) {
      const c = [C1, C2].map((n) => {
        const file = join(dir, `${side}.${load}.${n}.out`);
        run(trees[side], load, { SIDE: 'count', CYCLES: String(n) }, ['--tool=callgrind', '--dump-instr=no', `--callgrind-out-file=${file}`]);
        return counts(file);
      });
      r[side] = { js: Math.round((c[1].js - c[0].js) / (C2 - C1)), all: Math.round((c[1].total - c[0].total) / (C2 - C1)) };
    }
    const both = r.then !== undefined && r.now !== undefined;
    console.log(JSON.stringify({ load, node: execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim(), C1, C2, then: r.then, now: r.now, then_over_now_js: both ? Math.round((r.then.js / r.now.js) * 100) / 100 : null, then_over_now_all: both ? Math.round((r.then.all / r.now.all) * 100) / 100 : null }));
  }
  if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  else console.log(dir);
}
