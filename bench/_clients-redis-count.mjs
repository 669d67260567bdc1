#!/usr/bin/env node
// Instructions per Redis command (SET/GET alternating, 50 concurrent loops on one client),
// unpatched vs patched (patchAll(), greenlets), for node-redis and ioredis: each side runs
// under `valgrind --tool=callgrind` at two sizes after the same warm-up, and prints
// (I(n2) - I(n1)) / (n2 - n1), repeatable on a loaded machine unlike timings, in all
// instructions and in JavaScript's alone (`js`: jitted code and builtins, what callgrind
// cannot name: the collector's and compiler's share moves by thousands a command between
// runs, one mark-compact more or less in a run). Limits: node runs --single-threaded (no
// background compiler or GC thread), with GREENIO_SWITCH_INTERVAL huge (a turn under
// valgrind is ~50x longer: no fairness deferral a real run would not make); the client
// writes 50 commands a turn here as at full speed; build first
// (`npx tsc -p tsconfig.build.json`: it loads dist/). Run:
//   node bench/_clients-redis-count.mjs [node binary]   (LIBS=redis,ioredis SIZES=4000,16000 WARM=20000)
// DIST=<dir> loads greenio from another build (e.g. `tsc --outDir`, to compare two versions).
// NAMES=<k> (e.g. 30): also name the jitted code (node --perf-basic-prof's map, the last
// entry at an address) and print, per function, the k largest per-command differences of
// patched over the first of MODES (else over unpatched): where greenio's share goes. On
// Node 20 `MODES=floor,greenlets NAMES=30` shows AsyncLocalStorage's promise hooks
// (promiseInitHook, megamorphic keyed loads/stores of the store), paid alike by the floor.
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { redisWork, root, startRedis } from './_clients-redis-work.mjs';

async function work(lib, mode, n, warm, url) {
  // valgrind on a loaded machine connects slowly: a long connect timeout.
  const { round, close } = await redisWork(lib, mode, url, 120_000);
  await round(warm);
  await round(n);
  await close();
}

/** The jitted function at an address, from node --perf-basic-prof's map of process `pid` (then removed). */
function jitNames(pid) {
  const file = `/tmp/perf-${pid}.map`;
  const at = new Map();
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [start, size, ...rest] = line.split(' ');
      if (rest.length > 0) at.set(parseInt(start, 16), [parseInt(size, 16), rest.join(' ').replace(/^JS:/, '')]); // a reused address: the last code there
    }
    rmSync(file, { force: true });
  }
  const starts = [...at.keys()].sort((x, y) => x - y);
  return (addr) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= addr) lo = mid;
      else hi = mid - 1;
    }
    const s = starts[lo];
    const hit = s !== undefined && s <= addr ? at.get(s) : undefined;
    return hit !== undefined && addr < s + hit[0] ? hit[1] : '(unnamed)';
  };
}

async function drive() {
  const names = Number(process.env.NAMES ?? 0);
  const node = resolve(process.argv[2] ?? join(root, 'node_modules/node/bin/node'));
  const [n1, n2] = (process.env.SIZES ?? '4000,16000').split(',').map(Number);
  const warm = Number(process.env.WARM ?? 20000);
  const libs = (process.env.LIBS ?? 'redis,ioredis').split(',');
  const { url, dir, stop } = await startRedis('greenio-redis-count-');
  try {
    const count = (lib, mode, n) => {
      const out = join(dir, 'callgrind.out');
      const env = { ...process.env, GREENIO_SWITCH_INTERVAL: '1000000000' };
      const flags = names > 0 ? ['--single-threaded', '--perf-basic-prof'] : ['--single-threaded'];
      const r = spawnSync('valgrind', ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}`, node, ...flags, import.meta.filename, 'work', lib, mode, String(n), String(warm), url], { encoding: 'utf8', cwd: root, env });
      const m = /Collected : (\d+)/.exec(r.stderr);
      if (r.status !== 0 || m === null) throw new Error(`callgrind failed (${lib} ${mode} ${n}):\n${r.stderr.slice(-1500)}`);
      const ann = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', out], { encoding: 'utf8', maxBuffer: 1 << 28 });
      const jit = names > 0 ? jitNames(Number(/^==(\d+)==/m.exec(r.stderr)?.[1])) : null;
      let js = 0;
      const byName = new Map();
      for (const line of ann.split('\n')) {
        const f = /^\s*([\d,]+)\s+\([^)]*\)\s+(.*)$/.exec(line);
        if (f === null || line.includes('PROGRAM TOTALS')) continue;
        const ir = Number(f[1].replace(/,/g, ''));
        if (/Builtins_|\?\?\?:0x/.test(line)) js += ir;
        if (jit !== null) {
          const a = /^\?\?\?:0x([0-9a-f]+)(?:'\d+)? \[\?\?\?\]$/.exec(f[2]); // 'n: a recursion level
          const name = a !== null ? `JS ${jit(parseInt(a[1], 16))}` : f[2].replace(/^\?\?\?:/, '').replace(/ \[[^\]]*\]$/, '').slice(0, 140);
          byName.set(name, (byName.get(name) ?? 0) + ir);
        }
      }
      return { all: Number(m[1]), js, byName };
    };
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    for (const lib of libs) {
      const perOp = (mode) => {
        const [a, b] = [count(lib, mode, n1), count(lib, mode, n2)];
        const byName = new Map();
        for (const k of new Set([...a.byName.keys(), ...b.byName.keys()])) byName.set(k, ((b.byName.get(k) ?? 0) - (a.byName.get(k) ?? 0)) / (n2 - n1));
        return { all: (b.all - a.all) / (n2 - n1), js: (b.js - a.js) / (n2 - n1), byName };
      };
      const seen = new Map();
      const none = { all: 0, js: 0, byName: undefined };
      const side = (x) => ({ unpatched: Math.round(x.u), patched: Math.round(x.p), greenio: Math.round(x.p - x.u), ratio: Math.round((x.u / x.p) * 1000) / 1000 });
      // ONLY=patched or ONLY=unpatched counts one side (to compare two builds' patched sides).
      for (const extra of (process.env.MODES ?? '').split(',').filter(Boolean)) {
        const e = perOp(extra);
        seen.set(extra, e);
        console.log(JSON.stringify({ node: version, client: lib, mode: extra, instr_per_op: Math.round(e.all), js_per_op: Math.round(e.js) }));
      }
      const unpatched = process.env.ONLY === 'patched' ? none : perOp('unpatched');
      const patched = process.env.ONLY === 'unpatched' ? none : perOp('patched');
      console.log(JSON.stringify({ node: version, client: lib, sizes: [n1, n2], warm, all: side({ u: unpatched.all, p: patched.all }), js: side({ u: unpatched.js, p: patched.js }) }));
      if (names > 0 && patched.byName !== undefined) {
        const [baseName, base] = seen.size > 0 ? [...seen][0] : ['unpatched', unpatched];
        const diff = [...patched.byName.keys()].concat([...(base.byName?.keys() ?? [])]).map((k) => [k, (patched.byName.get(k) ?? 0) - (base.byName?.get(k) ?? 0)]);
        const top = [...new Map(diff)].sort((x, y) => Math.abs(y[1]) - Math.abs(x[1])).slice(0, names);
        console.log(`  per command, patched minus ${baseName} (instructions, by function):`);
        for (const [k, v] of top) console.log(`  ${String(Math.round(v)).padStart(7)}  ${k}`);
      }
    }
  } finally {
    stop();
  }
}

if (process.argv[2] === 'work') {
  const [, , , lib, mode, n, warm, url] = process.argv;
  await work(lib, mode, Number(n), Number(warm), url);
} else {
  await drive();
}
