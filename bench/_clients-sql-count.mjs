#!/usr/bin/env node
// Instructions (or bytes) per short SQL pool query, unpatched vs patched (patchAll(),
// greenlets), for pg and mysql2 at concurrency 50: each side runs under
// `valgrind --tool=callgrind` at two sizes after the same warm-up and prints
// (I(n2) - I(n1)) / (n2 - n1), in all instructions and in JavaScript's alone (`js`: jitted
// code and builtins; the collector's and compiler's share moves between runs). ALLOC=1:
// bytes allocated per query instead, natively (Node >= 26: V8's allocation counter; older
// Nodes: heap growth with a 256 MB young generation, exact while no scavenge runs).
// Limits: node runs --single-threaded, GREENIO_SWITCH_INTERVAL huge (a turn under valgrind
// is ~50x longer); the servers run natively, so how many replies one read brings moves
// with the load (compare sides counted close together). It uses the servers of
//   node --import tsx bench/clients-proc.ts pg,mysql2 --serve   (export its line first)
// and for mysql2 raise MariaDB's connect_timeout (see _clients-sql-grind.ts). Run:
//   node bench/_clients-sql-count.mjs [node binary]   (LIBS=pg,mysql2 SIZES=2000,6000 WARM=12000 FLOOR=1)
// DIST=<dir> loads greenio from another build (`tsc -p tsconfig.build.json --outDir <dir>`,
// with node_modules linked and package.json copied there); ONLY=patched|unpatched.
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import v8 from 'node:v8';
import { AsyncLocalStorage } from 'node:async_hooks';

const root = resolve(import.meta.dirname, '..');
const C = 50;

async function work(lib, mode, n, warm) {
  const dist = process.env.DIST ?? join(root, 'dist');
  const { patchAll } = await import(join(dist, 'src/monkey.js'));
  const { spawn: gspawn, joinAll } = await import(join(dist, 'src/index.js'));
  if (mode === 'patched') patchAll({ warnLate: false });
  const cfg = JSON.parse(process.env.GREENIO_BENCH_SERVERS ?? '{}')[lib]?.config;
  if (cfg === undefined) throw new Error(`no ${lib} server in GREENIO_BENCH_SERVERS`);
  let op;
  let close;
  const als = new AsyncLocalStorage();
  if (lib === 'pg') {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ ...cfg, max: 20, connectionTimeoutMillis: 0 });
    op = async (i) => {
      if ((await pool.query('SELECT $1::int AS n', [i])).rows[0].n !== i) throw new Error('wrong row');
    };
    close = () => pool.end();
  } else {
    const { default: mysql } = await import('mysql2/promise');
    const pool = mysql.createPool({ ...cfg, connectionLimit: 20, connectTimeout: 600_000 });
    op = async (i) => {
      if ((await pool.query('SELECT ? AS n', [i]))[0][0].n !== i) throw new Error('wrong row');
    };
    close = () => pool.end();
  }
  const round = async (count) => {
    const loop = async () => {
      for (let i = 0; i < count / C; i++) await op(i);
    };
    if (mode === 'patched') await joinAll(Array.from({ length: C }, () => gspawn(loop)), { raiseError: true });
    else if (mode === 'floor') await Promise.all(Array.from({ length: C }, () => als.run({}, loop)));
    else await Promise.all(Array.from({ length: C }, loop));
  };
  await round(warm);
  globalThis.gc?.();
  const heap = () => {
    const h = v8.getHeapStatistics();
    return h.total_allocated_bytes ?? h.used_heap_size;
  };
  const before = heap();
  await round(n);
  const bytes = heap() - before;
  if (process.env.ALLOC) console.log(JSON.stringify({ bytes }));
  await close();
}

function drive() {
  const node = resolve(process.argv[2] ?? join(root, 'node_modules/node/bin/node'));
  const [n1, n2] = (process.env.SIZES ?? '2000,6000').split(',').map(Number);
  const warm = Number(process.env.WARM ?? 12000);
  const libs = (process.env.LIBS ?? 'pg,mysql2').split(',');
  const dir = mkdtempSync(join(tmpdir(), 'greenio-sql-count-'));
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const env = { ...process.env, GREENIO_SWITCH_INTERVAL: '1000000000' };
  const alloc = process.env.ALLOC !== undefined;
  try {
    const count = (lib, mode, n) => {
      const out = join(dir, `callgrind.${lib}.${mode}.${n}`);
      const args = ['--single-threaded', '--expose-gc', import.meta.filename, 'work', lib, mode, String(n), String(warm)];
      if (alloc) {
        const r = spawnSync(node, ['--min-semi-space-size=256', '--max-semi-space-size=256', ...args], { encoding: 'utf8', cwd: root, env });
        const m = /"bytes":(\d+)/.exec(r.stdout);
        if (r.status !== 0 || m === null) throw new Error(`run failed (${lib} ${mode} ${n}):\n${r.stderr.slice(-1500)}`);
        return { all: Number(m[1]), js: 0 };
      }
      // SEMI=<MB>: a young generation that large, so no scavenge runs in the measured round
      // (a collection after the warm-up empties it): the count is the mutator's and the
      // compiler's, not one collection more or less in a run.
      const semi = process.env.SEMI ? [`--min-semi-space-size=${process.env.SEMI}`, `--max-semi-space-size=${process.env.SEMI}`] : [];
      const r = spawnSync('valgrind', ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}`, node, ...semi, ...args], { encoding: 'utf8', cwd: root, env });
      const m = /Collected : (\d+)/.exec(r.stderr);
      if (r.status !== 0 || m === null) throw new Error(`callgrind failed (${lib} ${mode} ${n}):\n${r.stderr.slice(-1500)}`);
      const ann = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', out], { encoding: 'utf8', maxBuffer: 1 << 28 });
      let js = 0;
      for (const line of ann.split('\n')) if (/Builtins_|\?\?\?:0x/.test(line)) js += Number(line.trim().split(/\s+/)[0].replace(/,/g, ''));
      if (process.env.KEEP === undefined) rmSync(out, { force: true });
      return { all: Number(m[1]), js };
    };
    for (const lib of libs) {
      // With ALLOC the measured round alone is counted: bytes / n2.
      const perOp = (mode) => {
        if (alloc) return { all: count(lib, mode, n2).all / n2, js: 0 };
        const [a, b] = [count(lib, mode, n1), count(lib, mode, n2)];
        return { all: (b.all - a.all) / (n2 - n1), js: (b.js - a.js) / (n2 - n1) };
      };
      const none = { all: 0, js: 0 };
      const side = (x) => ({ unpatched: Math.round(x.u), patched: Math.round(x.p), greenio: Math.round(x.p - x.u), ratio: Math.round((x.u / x.p) * 1000) / 1000 });
      const unpatched = process.env.ONLY === 'patched' ? none : perOp('unpatched');
      const patched = process.env.ONLY === 'unpatched' ? none : perOp('patched');
      // FLOOR=1: also the floor, unpatched with each loop in its own AsyncLocalStorage.run.
      const floor = process.env.FLOOR ? perOp('floor') : null;
      const unit = alloc ? 'bytes per query' : 'instructions per query';
      console.log(JSON.stringify({ node: version, client: lib, unit, dist: process.env.DIST ?? 'dist', sizes: [n1, n2], warm, all: side({ u: unpatched.all, p: patched.all }), ...(alloc ? {} : { js: side({ u: unpatched.js, p: patched.js }) }), ...(floor === null ? {} : { floor: { all: Math.round(floor.all), js: Math.round(floor.js) } }) }));
    }
  } finally {
    if (process.env.KEEP === undefined) rmSync(dir, { recursive: true, force: true });
    else console.error(`callgrind files kept in ${dir}`);
  }
}

if (process.argv[2] === 'work') {
  const [, , , lib, mode, n, warm] = process.argv;
  await work(lib, mode, Number(n), Number(warm));
} else {
  drive();
}
