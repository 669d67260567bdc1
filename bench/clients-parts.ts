// What each part of greenio costs a client operation, measured in one process: rounds of
// N short ops at concurrency 50 (as bench/clients-ab.ts), each round running, in turn,
// unpatched loops (the baseline), greenlets with nothing patched, and patchAll() with one
// patch left out (the client's integration, `timers`, `net`) or none. Reports, per
// variant, the median per-round extra CPU (and wall) per op over the baseline, in ns:
// a part's cost is `all` minus `all but <part>`. Run by hand (build first for --dist):
//   node --import tsx bench/clients-parts.ts pg [rounds=9] [ops=10000] [--dist]
import { median } from './lib.js';
import { startRedis } from '../test/servers/redis.js';
import { startPostgres } from '../test/servers/postgres.js';
import { startMariaDB } from '../test/servers/mariadb.js';

const base = process.argv.includes('--dist') ? '../dist/src' : '../src';
const { patchAll, unpatchAll } = (await import(`${base}/monkey.js`)) as typeof import('../src/monkey.js');
const { spawn, joinAll } = (await import(`${base}/index.js`)) as typeof import('../src/index.js');

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const LIB = args[0] ?? 'pg';
const ROUNDS = Number(args[1] ?? 9);
const OPS = Number(args[2] ?? 10_000);
const C = 50;

type Op = (w: number, i: number) => Promise<unknown>;

async function open(lib: string): Promise<{ op: Op; close(): Promise<unknown>; stop(): Promise<void> }> {
  if (lib === 'redis' || lib === 'ioredis') {
    const server = await startRedis();
    if (lib === 'ioredis') {
      const { Redis } = await import('ioredis');
      const c = new Redis(server.url);
      return { op: (w, i) => (i % 2 === 0 ? c.set(`k${w}`, String(i)) : c.get(`k${w}`)), close: () => c.quit(), stop: server.stop };
    }
    const { createClient } = await import('redis');
    const c = createClient({ url: server.url });
    await c.connect();
    return { op: (w, i) => (i % 2 === 0 ? c.set(`k${w}`, String(i)) : c.get(`k${w}`)), close: () => c.close(), stop: server.stop };
  }
  if (lib === 'pg') {
    const server = await startPostgres();
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ ...server.config, max: 20 });
    return { op: (_w, i) => pool.query('SELECT $1::int AS n', [i]), close: () => pool.end(), stop: server.stop };
  }
  if (lib === 'mysql2') {
    const server = await startMariaDB();
    const mysql = ((await import('mysql2/promise')) as unknown as { default: typeof import('mysql2/promise') }).default;
    const pool = mysql.createPool({ ...server.config, connectionLimit: 20 });
    return { op: (_w, i) => pool.query('SELECT ? AS n', [i]), close: () => pool.end(), stop: server.stop };
  }
  throw new Error(`unknown client ${lib}; have redis, ioredis, pg, mysql2`);
}

interface Variant {
  name: string;
  greenlets: boolean;
  /** patchAll() options, or null: nothing patched. */
  patch: Record<string, boolean> | null;
}
const VARIANTS: Variant[] = [
  { name: 'unpatched', greenlets: false, patch: null },
  { name: 'greenlets only', greenlets: true, patch: null },
  { name: `all but ${LIB}`, greenlets: true, patch: { [LIB]: false } },
  { name: 'all but timers', greenlets: true, patch: { timers: false } },
  { name: 'all but net', greenlets: true, patch: { net: false } },
  { name: 'all', greenlets: true, patch: {} },
];

async function round(op: Op, v: Variant): Promise<{ ms: number; cpu: number }> {
  unpatchAll();
  if (v.patch !== null) patchAll({ warnLate: false, ...v.patch });
  const per = Math.ceil(OPS / C);
  const loop = async (w: number): Promise<void> => {
    for (let i = 0; i < per; i++) await op(w, i);
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (v.greenlets) await joinAll(Array.from({ length: C }, (_, w) => spawn(loop, w)), { raiseError: true });
  else await Promise.all(Array.from({ length: C }, (_, w) => loop(w)));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ms, cpu: cpu.user + cpu.system };
}

// Patched first, so the client and its sockets are made as a user's program makes them.
patchAll({ warnLate: false });
const { op, close, stop } = await open(LIB);
const extraCpu = VARIANTS.map(() => [] as number[]);
const extraWall = VARIANTS.map(() => [] as number[]);
const baseCpu: number[] = [];
try {
  for (let r = -2; r < ROUNDS; r++) {
    // Rotate the order each round so no variant always runs first or last.
    const order = VARIANTS.map((_, i) => (i + Math.max(r, 0)) % VARIANTS.length);
    const res: Array<{ ms: number; cpu: number }> = [];
    for (const i of order) res[i] = await round(op, VARIANTS[i]!);
    if (r < 0) continue;
    const u = res[0]!;
    baseCpu.push((u.cpu * 1e3) / OPS);
    VARIANTS.forEach((_, i) => {
      extraCpu[i]!.push(((res[i]!.cpu - u.cpu) * 1e3) / OPS);
      extraWall[i]!.push(((res[i]!.ms - u.ms) * 1e6) / OPS);
    });
  }
} finally {
  patchAll({ warnLate: false });
  await close();
  await stop();
}
console.log(`${LIB} on Node ${process.version}: ${OPS} ops x ${ROUNDS} rounds; unpatched CPU ${Math.round(median(baseCpu))} ns/op`);
console.log('variant            extra CPU ns/op   extra wall ns/op');
VARIANTS.forEach((v, i) => {
  if (i > 0) console.log(`${v.name.padEnd(18)} ${String(Math.round(median(extraCpu[i]!))).padEnd(17)} ${Math.round(median(extraWall[i]!))}`);
});
process.exit(0);
