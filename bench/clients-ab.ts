// The client integrations' cost, measured in one process so a busy machine sways both
// sides alike: rounds of N short ops at concurrency 50 on one client (node-redis,
// ioredis) or a pool of 20 (pg, mysql2), alternating unpatched (50 async loops, nothing
// patched) and patched (patchAll(), 50 greenlets), order flipped each round; reports the
// median per-round ratio of wall time and of process CPU, greenio's cost per op (median
// per-round difference, wall and CPU, in ns), and each client's ratio against issue 16's
// target (patched/unpatched >= 0.9: met or not met). Not a `npm run bench` workload
// (that one runs each variant in a fresh process): run it by hand, e.g.
//   node --import tsx bench/clients-ab.ts redis,ioredis,pg,mysql2 [rounds=15] [ops=20000] --dist
// `--cpu-prof-patched <file>` writes a CPU profile of the patched rounds only; `--dist` see below.
// On a busy machine the wall ratio swings by ±15 % from run to run; the CPU ratio less.
// The diagnostic, not the figure: each patchAll()/unpatchAll() switch replaces prototype
// methods and V8 drops the optimised code that depended on them (a cost no program that
// patches once pays), and on Node 20 the unpatched rounds pay for the AsyncLocalStorage
// the greenlets turned on. bench/clients-proc.ts (each side its own process) is the figure.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { median } from './lib.js';
import { startRedis } from '../test/servers/redis.js';
import { startPostgres } from '../test/servers/postgres.js';
import { startMariaDB } from '../test/servers/mariadb.js';
// `--dist`: greenio as users run it, compiled by tsc (`npx tsc -p tsconfig.build.json`):
// tsx's transform wraps every closure greenio makes in a `__name()` call, a cost users never pay.
const base = process.argv.includes('--dist') ? '../dist/src' : '../src';
const { patchAll, unpatchAll } = (await import(`${base}/monkey.js`)) as typeof import('../src/monkey.js');
const { spawn, joinAll } = (await import(`${base}/index.js`)) as typeof import('../src/index.js');

const args = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--cpu-prof-patched');
const LIBS = (args[0] ?? 'redis,ioredis,pg,mysql2').split(',');
const ROUNDS = Number(args[1] ?? 15);
const OPS = Number(args[2] ?? 20_000);
const C = 50;
/** Issue 16's target: patched throughput at least 0.9 of unpatched, for every client. */
const TARGET = 0.9;
const profAt = process.argv.indexOf('--cpu-prof-patched');
const PROF_FILE = profAt >= 0 ? process.argv[profAt + 1] : undefined;

interface Target {
  /** One short op by loop `w`, its `i`-th. */
  op(w: number, i: number): Promise<unknown>;
  close(): Promise<unknown>;
}

async function open(lib: string): Promise<{ t: Target; stop(): Promise<void> }> {
  if (lib === 'redis' || lib === 'ioredis') {
    const server = await startRedis();
    if (lib === 'ioredis') {
      const { Redis } = await import('ioredis');
      const c = new Redis(server.url);
      const op = (w: number, i: number): Promise<unknown> => (i % 2 === 0 ? c.set(`k${w}`, String(i)) : c.get(`k${w}`));
      return { t: { op, close: () => c.quit() }, stop: server.stop };
    }
    const { createClient } = await import('redis');
    const c = createClient({ url: server.url });
    await c.connect();
    const op = (w: number, i: number): Promise<unknown> => (i % 2 === 0 ? c.set(`k${w}`, String(i)) : c.get(`k${w}`));
    return { t: { op, close: () => c.close() }, stop: server.stop };
  }
  if (lib === 'pg') {
    const server = await startPostgres();
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ ...server.config, max: 20 });
    const op = async (_w: number, i: number): Promise<unknown> => {
      const r = await pool.query('SELECT $1::int AS n', [i]);
      if (r.rows[0].n !== i) throw new Error('wrong row');
      return r;
    };
    return { t: { op, close: () => pool.end() }, stop: server.stop };
  }
  if (lib === 'mysql2') {
    const server = await startMariaDB();
    const mysql = ((await import('mysql2/promise')) as unknown as { default: typeof import('mysql2/promise') }).default;
    const pool = mysql.createPool({ ...server.config, connectionLimit: 20 });
    const op = async (_w: number, i: number): Promise<unknown> => {
      const [rows] = await pool.query('SELECT ? AS n', [i]);
      if ((rows as Array<{ n: number }>)[0]!.n !== i) throw new Error('wrong row');
      return rows;
    };
    return { t: { op, close: () => pool.end() }, stop: server.stop };
  }
  throw new Error(`unknown client ${lib}; have redis, ioredis, pg, mysql2`);
}

/** One round: wall ms and CPU µs for OPS ops by C loops. */
async function round(t: Target, patched: boolean): Promise<{ ms: number; cpu: number }> {
  const per = Math.ceil(OPS / C);
  const loop = async (w: number): Promise<void> => {
    for (let i = 0; i < per; i++) await t.op(w, i);
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (patched) await joinAll(Array.from({ length: C }, (_, w) => spawn(loop, w)), { raiseError: true });
  else await Promise.all(Array.from({ length: C }, (_, w) => loop(w)));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ms, cpu: cpu.user + cpu.system };
}

async function measure(lib: string, session: Session | null): Promise<Record<string, number | string>> {
  // Patched first, so the client and its sockets are made as a user's program makes them.
  patchAll({ warnLate: false });
  const { t, stop } = await open(lib);
  try {
    const wall: number[] = [];
    const cpu: number[] = [];
    const opsP: number[] = [];
    const opsU: number[] = [];
    const costWall: number[] = [];
    const costCpu: number[] = [];
    const cpuU: number[] = [];
    for (let r = -2; r < ROUNDS; r++) {
      const res: Record<'p' | 'u', { ms: number; cpu: number }> = {} as never;
      for (const side of r % 2 === 0 ? (['p', 'u'] as const) : (['u', 'p'] as const)) {
        if (side === 'p') patchAll({ warnLate: false });
        else unpatchAll();
        if (side === 'p' && r >= 0 && session !== null) await session.post('Profiler.start');
        res[side] = await round(t, side === 'p');
        if (side === 'p' && r >= 0 && session !== null) await session.post('Profiler.stop').then(save);
      }
      if (r < 0) continue; // warm-up rounds
      wall.push(res.u.ms / res.p.ms);
      cpu.push(res.u.cpu / res.p.cpu);
      opsP.push((OPS / res.p.ms) * 1000);
      opsU.push((OPS / res.u.ms) * 1000);
      costWall.push(((res.p.ms - res.u.ms) * 1e6) / OPS);
      costCpu.push(((res.p.cpu - res.u.cpu) * 1e3) / OPS);
      cpuU.push((res.u.cpu * 1e3) / OPS);
    }
    const w = Number(median(wall).toFixed(3));
    const c = Number(median(cpu).toFixed(3));
    return {
      client: lib,
      node: process.version,
      rounds: ROUNDS,
      ops: OPS,
      unpatched_ops_per_s: Math.round(median(opsU)),
      patched_ops_per_s: Math.round(median(opsP)),
      wall_ratio: w,
      cpu_ratio: c,
      unpatched_cpu_ns_per_op: Math.round(median(cpuU)),
      greenio_wall_ns_per_op: Math.round(median(costWall)),
      greenio_cpu_ns_per_op: Math.round(median(costCpu)),
      target: TARGET,
      wall_target: w >= TARGET ? 'met' : 'not met',
      cpu_target: c >= TARGET ? 'met' : 'not met',
    };
  } finally {
    patchAll({ warnLate: false });
    await t.close();
    await stop();
  }
}

// Profiles of the patched rounds, merged by keeping the last (each round alike).
let saved: unknown = null;
function save(r: { profile: unknown }): void {
  saved = r.profile;
}

const session = PROF_FILE === undefined ? null : new Session();
if (session !== null) {
  session.connect();
  await session.post('Profiler.enable');
}
const rows: Array<Record<string, number | string>> = [];
for (const lib of LIBS) {
  const row = await measure(lib, session);
  rows.push(row);
  console.log(JSON.stringify(row));
}
// The summary: one line per client against the target, then whether every client meets it.
console.log(`\npatched/unpatched on Node ${process.version} (target >= ${TARGET}; ${OPS} ops x ${ROUNDS} rounds, concurrency ${C}${process.argv.includes('--dist') ? ', dist' : ', tsx'})`);
console.log('client    wall   target    cpu    target    greenio ns/op (wall, cpu)   unpatched cpu ns/op');
for (const r of rows) {
  console.log(
    `${String(r.client).padEnd(9)} ${String(r.wall_ratio).padEnd(6)} ${String(r.wall_target).padEnd(9)} ${String(r.cpu_ratio).padEnd(6)} ${String(r.cpu_target).padEnd(9)} ${`${r.greenio_wall_ns_per_op}, ${r.greenio_cpu_ns_per_op}`.padEnd(27)} ${r.unpatched_cpu_ns_per_op}`,
  );
}
const unmet = rows.filter((r) => r.wall_target !== 'met').map((r) => r.client);
console.log(unmet.length === 0 ? `target met by every client` : `target not met (wall) by: ${unmet.join(', ')}`);
if (session !== null && PROF_FILE !== undefined) writeFileSync(PROF_FILE, JSON.stringify(saved));
process.exit(0);
