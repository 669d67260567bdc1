// One side of the SQL client A/B alone, for instruction counts: `SIDE=p|u` (patched with
// greenlets, or unpatched loops), after the same warm-up whatever N, then N short pool
// queries at concurrency 50. Under `valgrind --tool=callgrind` at two N, the difference of
// the totals over the difference of N is the steady-state cost per query, whatever the load:
//   SIDE=p valgrind --tool=callgrind node --import tsx bench/_clients-sql-grind.ts pg 1000
// (MARK=1 prints a line before and after the measured round, for --trace-opt/--trace-deopt.)
// Add node's --single-threaded (no background compiler or GC thread: counts repeat). With
// GREENIO_BENCH_SERVERS (printed by `bench/clients-proc.ts --serve`) it uses those servers
// instead of starting its own; DIST=<dir>/src loads another build of greenio (to compare).
// mysql2 under valgrind on a loaded machine: MariaDB drops a client whose handshake takes
// over its connect_timeout (10 s), and the run dies of ECONNRESET after the warm-up's first
// connect (its count then holds no query): raise it first, natively, on the served server:
//   mariadb -h 127.0.0.1 -P <port> -u root -e 'SET GLOBAL connect_timeout = 600'
import { startPostgres } from '../test/servers/postgres.js';
import { startMariaDB } from '../test/servers/mariadb.js';

// greenio as users run it, compiled by tsc (`npx tsc -p tsconfig.build.json` first).
const dist = process.env.DIST ?? '../dist/src';
const { patchAll } = (await import(`${dist}/monkey.js`)) as typeof import('../src/monkey.js');
const { spawn, joinAll } = (await import(`${dist}/index.js`)) as typeof import('../src/index.js');
const [lib, n] = process.argv.slice(2);
const N = Number(n ?? 1000);
const patched = process.env.SIDE !== 'u';
if (patched) patchAll({ warnLate: false });
const given = (JSON.parse(process.env.GREENIO_BENCH_SERVERS ?? '{}') as Record<string, { config?: { host: string; port: number; user: string; database: string } }>)[lib!];
let op: (i: number) => Promise<unknown>;
let stop: () => Promise<void>;
if (lib === 'pg') {
  const server = given?.config ? { config: given.config, stop: async () => {} } : await startPostgres();
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ ...server.config, max: 20 });
  op = async (i) => {
    if ((await pool.query('SELECT $1::int AS n', [i])).rows[0].n !== i) throw new Error('wrong row');
  };
  stop = async () => { await pool.end(); await server.stop(); };
} else {
  const server = given?.config ? { config: given.config, stop: async () => {} } : await startMariaDB();
  const mysql = ((await import('mysql2/promise')) as unknown as { default: typeof import('mysql2/promise') }).default;
  const pool = mysql.createPool({ ...server.config, connectionLimit: 20 });
  op = async (i) => {
    if (((await pool.query('SELECT ? AS n', [i]))[0] as Array<{ n: number }>)[0]!.n !== i) throw new Error('wrong row');
  };
  stop = async () => { await pool.end(); await server.stop(); };
}
async function round(count: number): Promise<void> {
  const loop = async (): Promise<void> => {
    for (let i = 0; i < count / 50; i++) await op(i);
  };
  if (patched) await joinAll(Array.from({ length: 50 }, () => spawn(loop)), { raiseError: true });
  else await Promise.all(Array.from({ length: 50 }, loop));
}
for (let r = 0; r < 3; r++) await round(2000); // the same warm-up whatever N
if (process.env.MARK === '1') console.log('--- measured round');
await round(N);
if (process.env.MARK === '1') console.log('--- end');
await stop();
process.exit(0);
