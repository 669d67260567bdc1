// The client integrations' cost as a program pays it: each side in a process of its own.
// A patched process calls patchAll() once at start and runs 50 greenlets; an unpatched
// one runs 50 async loops; both warm up, then time several rounds of N short ops at
// concurrency 50 (SELECT over a pool of 20; SET/GET on one Redis client) and report the
// median round. Per client: the median of the paired ratios patched/unpatched (throughput,
// and process CPU per op), met / not met against 0.9.
// THE ISSUE'S FIGURE is the default, sequential mode: processes run one at a time, each
// alone with the servers the parent starts once (passed by env), sides alternating
// (p u, u p, ...), several pairs, medians. There throughput and CPU per op tell the same
// story. `--together` runs both sides of a pair at once (each its own pool), which a
// swinging load sways alike, but the patched side can then take more of the cores than
// its CPU per op explains: a diagnostic, not the figure.
// `--floor` adds a third side, f: unpatched, each of the 50 loops in its own
// AsyncLocalStorage.run (reading its store at each op, as context-carrying code does):
// the least any implementation that knows which loop issued an op pays (on Node 20 the
// first run() turns async_hooks' promise hooks on for the whole process). It prints
// floor/unpatched beside patched/unpatched.
// Why two benches: this one is the figure (no patch switching, nothing shared between
// sides but the machine); bench/clients-ab.ts (one process, patchAll()/unpatchAll() every
// round) is the diagnostic: a busy machine sways both sides alike there, but each switch
// makes V8 drop the optimised code that depended on the replaced methods, a cost no
// program that patches once pays. Build first (greenio as users run it, from dist/):
//   npx tsc -p tsconfig.build.json
//   node --import tsx bench/clients-proc.ts redis,ioredis,pg,postgres,mysql2 [pairs=6] [ops=20000] [rounds=5] [--floor]
// GREENIO_BENCH_CLIENTS=client-majors measures the clients' newest majors (see open()).
// Run it with another node (node_modules/node24/bin/node ...) to measure that Node.
// `--parts`: where the cost is (see parts()). `--serve`: start the servers, print their
// env and wait, to run one child by hand (`... bench/clients-proc.ts --child pg p 20000 5`,
// under --cpu-prof or valgrind).
import { spawn as spawnProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { holdBallast, median } from './lib.js';

const C = 50;
/** Issue 16's target: patched throughput at least 0.9 of unpatched, for every client. */
const TARGET = 0.9;
const WARMUP = 3;
/**
 * p: patched with greenlets; u: unpatched loops; f: the floor (unpatched loops, each in its
 * own AsyncLocalStorage.run); g: greenlets, nothing patched; p-<key>: patchAll() but <key>.
 */
type Side = string;
interface SqlConfig {
  host: string;
  port: number;
  user: string;
  database: string;
}
/** What the parent's servers are, for the children: one entry per client. */
type Servers = Record<string, { url?: string; config?: SqlConfig }>;
/** A child's report: per timed round, wall ms and process CPU µs. */
interface Report {
  ms: number[];
  cpu: number[];
}

type Op = (w: number, i: number) => Promise<unknown>;

// GREENIO_BENCH_CLIENTS=client-majors: the clients' other majors (ioredis 6, redis 6 or,
// with GREENIO_BENCH_REDIS_PKG=redis4, 4, postgres.js 4: see client-majors/package.json),
// required from there instead of the repository's own (postgres.js 4 is an ES module:
// patched on Node >= 22.15 only).
const majors = process.env.GREENIO_BENCH_CLIENTS === 'client-majors' ? createRequire(new URL('../client-majors/package.json', import.meta.url)) : null;

async function open(lib: string, s: Servers[string]): Promise<{ op: Op; close(): Promise<unknown> }> {
  if (lib === 'ioredis') {
    const { Redis } = majors !== null ? (majors('ioredis') as typeof import('ioredis')) : await import('ioredis');
    const c = new Redis(s.url!);
    return { op: (w, i) => (i % 2 === 0 ? c.set(`k${w}`, String(i)) : c.get(`k${w}`)), close: () => c.quit() };
  }
  if (lib === 'redis') {
    // With client-majors, GREENIO_BENCH_REDIS_PKG=redis4 measures node-redis 4 (its alias there).
    const { createClient } = majors !== null ? (majors(process.env.GREENIO_BENCH_REDIS_PKG ?? 'redis') as typeof import('redis')) : await import('redis');
    const c = createClient({ url: s.url! });
    await c.connect();
    const close = (): Promise<unknown> => (typeof (c as { close?: unknown }).close === 'function' ? c.close() : (c as unknown as { quit(): Promise<unknown> }).quit());
    return { op: (w, i) => (i % 2 === 0 ? c.set(`k${w}`, String(i)) : c.get(`k${w}`)), close };
  }
  if (lib === 'pg') {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ ...s.config!, max: 20 });
    const op = async (_w: number, i: number): Promise<unknown> => {
      const r = await pool.query('SELECT $1::int AS n', [i]);
      if (r.rows[0].n !== i) throw new Error('wrong row');
      return r;
    };
    return { op, close: () => pool.end() };
  }
  if (lib === 'postgres') {
    // postgres.js: its CommonJS build, which greenio patches on every Node (the ES-module
    // one only on Node >= 22.15).
    type Postgres = typeof import('postgres');
    const m = (majors ?? createRequire(import.meta.url))('postgres') as Postgres | { default: Postgres };
    const postgres = typeof m === 'function' ? m : m.default;
    const sql = postgres({ ...s.config!, max: 20 });
    const op = async (_w: number, i: number): Promise<unknown> => {
      const rows = await sql`SELECT ${i}::int AS n`;
      if (rows[0]!.n !== i) throw new Error('wrong row');
      return rows;
    };
    return { op, close: () => sql.end() };
  }
  if (lib === 'mysql2') {
    const mysql = ((await import('mysql2/promise')) as unknown as { default: typeof import('mysql2/promise') }).default;
    const pool = mysql.createPool({ ...s.config!, connectionLimit: 20 });
    const op = async (_w: number, i: number): Promise<unknown> => {
      const [rows] = await pool.query('SELECT ? AS n', [i]);
      if ((rows as Array<{ n: number }>)[0]!.n !== i) throw new Error('wrong row');
      return rows;
    };
    return { op, close: () => pool.end() };
  }
  throw new Error(`unknown client ${JSON.stringify(lib)}; have redis, ioredis, pg, postgres, mysql2`);
}

/** The child: one side of one client, WARMUP untimed rounds then `rounds` timed ones. */
// GREENIO_BENCH_BALLAST_MB: each side first holds that many MB (bench/lib.ts holdBallast):
// V8's pretenuring of mysql2's per-query objects turns on in a process that holds ~4 MB at
// startup, patched or not (bench/PROFILE.md, stop 12); greenio's import and patchAll() hold
// ~3.4 MB on Node 20, so a bare unpatched side is the one program here that stays under it.
async function child(lib: string, side: Side, ops: number, rounds: number): Promise<void> {
  holdBallast('GREENIO_BENCH_BALLAST_MB');
  // As a program does: patch once, before the client is loaded (an unpatched program loads no greenio).
  // GREENIO_BENCH_DIST: another build's dist/src (absolute), e.g. an older commit's, to compare.
  const dist = process.env.GREENIO_BENCH_DIST ?? '../dist/src';
  // The unpatched side and the floor load no greenio (the floor's loops each run in their own
  // AsyncLocalStorage.run; until this stop it loaded greenio and so ran as greenlets).
  const greenio = side === 'u' || side === 'f' ? null : ((await import(`${dist}/index.js`)) as typeof import('../src/index.js'));
  const but = side.startsWith('p-') ? { [side.slice(2)]: false } : {};
  if (side.startsWith('p')) ((await import(`${dist}/monkey.js`)) as typeof import('../src/monkey.js')).patchAll({ warnLate: false, ...but });
  const servers = JSON.parse(process.env.GREENIO_BENCH_SERVERS ?? '{}') as Servers;
  const { op, close } = await open(lib, servers[lib]!);
  const per = Math.ceil(ops / C);
  const loop = async (w: number): Promise<void> => {
    for (let i = 0; i < per; i++) await op(w, i);
  };
  // The floor: what a context-carrying wrapper pays, a store per loop read at each op.
  const scope = new AsyncLocalStorage<{ w: number }>();
  const scoped = async (w: number): Promise<void> => {
    for (let i = 0; i < per; i++) await op(scope.getStore()!.w, i);
  };
  const out: Report = { ms: [], cpu: [] };
  for (let r = -WARMUP; r < rounds; r++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    if (greenio !== null) await greenio.joinAll(Array.from({ length: C }, (_, w) => greenio.spawn(loop, w)), { raiseError: true });
    else if (side === 'f') await Promise.all(Array.from({ length: C }, (_, w) => scope.run({ w }, scoped, w)));
    else await Promise.all(Array.from({ length: C }, (_, w) => loop(w)));
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (r >= 0) {
      out.ms.push(ms);
      out.cpu.push(cpu.user + cpu.system);
    }
  }
  await close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

function runChild(lib: string, side: Side, ops: number, rounds: number, servers: Servers): Promise<Report> {
  const self = fileURLToPath(import.meta.url);
  const args = [...process.execArgv, self, '--child', lib, side, String(ops), String(rounds)];
  return new Promise((resolve, reject) => {
    const p = spawnProcess(process.execPath, args, { env: { ...process.env, GREENIO_BENCH_SERVERS: JSON.stringify(servers) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`child ${lib} ${side} exited ${code}: ${out}`));
      else resolve(JSON.parse(line) as Report);
    });
  });
}

async function startServers(libs: string[]): Promise<{ servers: Servers; stop(): Promise<void> }> {
  const servers: Servers = {};
  const stops: Array<() => Promise<void>> = [];
  if (libs.includes('redis') || libs.includes('ioredis')) {
    const { startRedis } = await import('../test/servers/redis.js');
    const r = await startRedis();
    stops.push(r.stop);
    servers.redis = servers.ioredis = { url: r.url };
  }
  if (libs.includes('pg') || libs.includes('postgres')) {
    const { startPostgres } = await import('../test/servers/postgres.js');
    const r = await startPostgres();
    stops.push(r.stop);
    servers.pg = servers.postgres = { config: r.config };
  }
  if (libs.includes('mysql2')) {
    const { startMariaDB } = await import('../test/servers/mariadb.js');
    const r = await startMariaDB();
    stops.push(r.stop);
    servers.mysql2 = { config: r.config };
  }
  return { servers, stop: async () => void (await Promise.all(stops.map((s) => s()))) };
}

const r3 = (x: number): number => Number(x.toFixed(3));

/**
 * `--parts`: where the cost is, each variant its own process, the order rotated each
 * cycle: greenlets with nothing patched, patchAll() but the client's integration, but
 * timers, but net, and all; each as throughput over unpatched and extra CPU ns per op.
 */
async function parts(lib: string, cycles: number, ops: number, rounds: number, servers: Servers): Promise<void> {
  const sides = ['u', 'g', `p-${lib}`, 'p-timers', 'p-net', 'p'];
  const ratio = sides.map(() => [] as number[]);
  const extra = sides.map(() => [] as number[]);
  for (let k = 0; k < cycles; k++) {
    const res: Array<{ ops: number; cpu: number }> = [];
    for (let j = 0; j < sides.length; j++) {
      const i = (j + k) % sides.length;
      const rep = await runChild(lib, sides[i]!, ops, rounds, servers);
      res[i] = { ops: (ops / median(rep.ms)) * 1000, cpu: (median(rep.cpu) * 1e3) / ops };
    }
    sides.forEach((_, i) => {
      ratio[i]!.push(res[i]!.ops / res[0]!.ops);
      extra[i]!.push(res[i]!.cpu - res[0]!.cpu);
    });
  }
  console.log(`${lib} on Node ${process.version}, each variant its own process: ${cycles} cycles, ${rounds} rounds of ${ops} ops`);
  console.log('variant        ops/s ratio   extra CPU ns/op');
  sides.forEach((v, i) => {
    if (i > 0) console.log(`${v.padEnd(14)} ${String(r3(median(ratio[i]!))).padEnd(13)} ${Math.round(median(extra[i]!))}`);
  });
}

async function parent(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const libs = (args[0] ?? 'pg,mysql2').split(',');
  const pairs = Number(args[1] ?? 6);
  const ops = Number(args[2] ?? 20_000);
  const rounds = Number(args[3] ?? 5);
  for (const [name, v] of [['pairs', pairs], ['ops', ops], ['rounds', rounds]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  const together = process.argv.includes('--together');
  const { servers, stop } = await startServers(libs);
  if (process.argv.includes('--serve')) {
    // For profiling one child by hand: the servers' env, kept up until SIGINT.
    console.log(`export GREENIO_BENCH_SERVERS='${JSON.stringify(servers)}'`);
    await new Promise((resolve) => process.once('SIGINT', resolve));
    await stop();
    return;
  }
  if (process.argv.includes('--parts')) {
    try {
      for (const lib of libs) await parts(lib, pairs, ops, rounds, servers);
    } finally {
      await stop();
    }
    return;
  }
  const floor = process.argv.includes('--floor');
  const sides = floor ? (['p', 'u', 'f'] as const) : (['p', 'u'] as const);
  const rows: Array<Record<string, number | string>> = [];
  try {
    for (const lib of libs) {
      // Per cycle, each side's throughput (ops/s) and CPU per op (ns).
      const got: Record<string, { ops: number[]; cpu: number[] }> = { p: { ops: [], cpu: [] }, u: { ops: [], cpu: [] }, f: { ops: [], cpu: [] } };
      for (let k = 0; k < pairs; k++) {
        // Rotate which side goes first, so none always follows another.
        const order = sides.map((_, j) => sides[(j + k) % sides.length]!);
        const one = async (side: string): Promise<void> => {
          const rep = await runChild(lib, side, ops, rounds, servers);
          got[side]!.ops.push((ops / median(rep.ms)) * 1000);
          got[side]!.cpu.push((median(rep.cpu) * 1e3) / ops);
        };
        if (together) await Promise.all(order.map(one));
        else for (const side of order) await one(side);
      }
      // Paired ratios (same cycle), then their median: x/u in throughput, u/x in CPU per op.
      const wallOf = (x: string): number[] => got[x]!.ops.map((v, i) => v / got.u!.ops[i]!);
      const cpuOf = (x: string): number[] => got[x]!.cpu.map((v, i) => got.u!.cpu[i]! / v);
      const wall = wallOf('p');
      const w = r3(median(wall));
      const c = r3(median(cpuOf('p')));
      const row: Record<string, number | string> = {
        client: lib,
        node: process.version,
        mode: together ? 'together' : 'sequential',
        pairs,
        ops,
        rounds,
        unpatched_ops_per_s: Math.round(median(got.u!.ops)),
        patched_ops_per_s: Math.round(median(got.p!.ops)),
        wall_ratio: w,
        wall_ratio_min: r3(Math.min(...wall)),
        wall_ratio_max: r3(Math.max(...wall)),
        cpu_ratio: c,
        unpatched_cpu_ns_per_op: Math.round(median(got.u!.cpu)),
        patched_cpu_ns_per_op: Math.round(median(got.p!.cpu)),
        greenio_cpu_ns_per_op: Math.round(median(got.p!.cpu.map((p, i) => p - got.u!.cpu[i]!))),
        wall_target: w >= TARGET ? 'met' : 'not met',
        cpu_target: c >= TARGET ? 'met' : 'not met',
      };
      if (floor) {
        row.floor_wall_ratio = r3(median(wallOf('f')));
        row.floor_cpu_ratio = r3(median(cpuOf('f')));
        row.floor_cpu_ns_per_op = Math.round(median(got.f!.cpu));
      }
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  } finally {
    await stop();
  }
  console.log(
    `\nover unpatched, each side its own process, ${together ? 'all sides at once (diagnostic)' : 'one at a time (the issue\'s figure)'}, on Node ${process.version} (target >= ${TARGET}; ${pairs} cycles, each process ${rounds} rounds of ${ops} ops after ${WARMUP} warm-up rounds, concurrency ${C})`,
  );
  console.log(`client    wall (min-max)         target    cpu    target    greenio cpu ns/op   unpatched cpu ns/op${floor ? '   floor wall  floor cpu' : ''}`);
  for (const r of rows) {
    console.log(
      `${String(r.client).padEnd(9)} ${`${r.wall_ratio} (${r.wall_ratio_min}-${r.wall_ratio_max})`.padEnd(22)} ${String(r.wall_target).padEnd(9)} ${String(r.cpu_ratio).padEnd(6)} ${String(r.cpu_target).padEnd(9)} ${String(r.greenio_cpu_ns_per_op).padEnd(19)} ${String(r.unpatched_cpu_ns_per_op).padEnd(19)}${floor ? `   ${String(r.floor_wall_ratio).padEnd(11)} ${r.floor_cpu_ratio}` : ''}`,
    );
  }
  const unmet = rows.filter((r) => r.cpu_target !== 'met').map((r) => r.client);
  console.log(unmet.length === 0 ? 'target met (CPU per op) by every client' : `target not met (CPU per op) by: ${unmet.join(', ')}`);
}

const at = process.argv.indexOf('--child');
if (at >= 0) {
  const [lib, side, ops, rounds] = process.argv.slice(at + 1);
  await child(lib!, side as Side, Number(ops), Number(rounds));
} else {
  await parent();
  process.exit(0);
}
