// mysql2 under greenio: 20,000 short queries (`SELECT ? AS n`) at concurrency 50 over a
// mysql2/promise pool of 20 connections, unpatched, patched (50 async loops in main)
// and patched with each loop a greenlet; and, patched, the latency from a kill to the
// server-side KILL QUERY of a running `SLEEP` (kill → the connection answers its next
// query, which it sends only once the KILL is answered). Each variant starts its own
// MariaDB (test/servers/mariadb.ts). Target: patched >= 0.9x unpatched.
import { defineWorkload, median, type Metrics } from './lib.js';
import { startMariaDB } from '../test/servers/mariadb.js';

const N = Number(process.env.N ?? 20_000);
const C = 50;

async function run(mode: 'unpatched' | 'patched' | 'greenlets' | 'plain_patch'): Promise<Metrics> {
  const server = await startMariaDB();
  try {
    // plain_patch: Node's IO patched, this client's integration off (what the integration itself costs).
    if (mode !== 'unpatched') (await import('../src/monkey.js')).patchAll({ warnLate: false, ...(mode === 'plain_patch' ? { mysql2: false } : {}) });
    const mysql = ((await import('mysql2/promise')) as unknown as { default: typeof import('mysql2/promise') }).default;
    const { spawn, joinAll, sleep } = await import('../src/index.js');
    const pool = mysql.createPool({ ...server.config, connectionLimit: 20 });
    let next = 0;
    const loop = async (): Promise<void> => {
      while (next < N) {
        const i = next++;
        const [rows] = await pool.query('SELECT ? AS n', [i]);
        if ((rows as Array<{ n: number }>)[0]!.n !== i) throw new Error('wrong row');
      }
    };
    await Promise.all(Array.from({ length: 20 }, () => pool.query('SELECT 1')));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    if (mode === 'greenlets') await joinAll(Array.from({ length: C }, () => spawn(loop)), { raiseError: true });
    else await Promise.all(Array.from({ length: C }, loop));
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const out: Metrics = { ops_per_s: Math.round((N / ms) * 1000), client_cpu_us_per_op: Number(((cpu.user + cpu.system) / N).toFixed(1)) };
    if (mode === 'patched') {
      const conn = await pool.getConnection();
      const lat: number[] = [];
      for (let i = 0; i < 20; i++) {
        const g = spawn(() => conn.query('SELECT SLEEP(10)'));
        await sleep(30);
        const t = performance.now();
        g.kill(undefined, { block: false });
        await conn.query('SELECT 1');
        lat.push(performance.now() - t);
      }
      conn.release();
      out.kill_to_cancel_ms = Number(median(lat).toFixed(2));
    }
    await pool.end();
    return out;
  } finally {
    await server.stop();
  }
}

export default defineWorkload({
  name: 'clients_mysql2',
  description: `mysql2: ${N} short queries at concurrency ${C} over a pool of 20, unpatched vs patched; kill-to-KILL-QUERY latency`,
  variants: {
    unpatched: () => run('unpatched'),
    patched: () => run('patched'),
    greenlets: () => run('greenlets'),
    plain_patch: () => run('plain_patch'),
  },
  ratios: [
    { label: 'patched / unpatched', metric: 'ops_per_s', numerator: 'patched', denominator: 'unpatched', target: 0.9 },
    { label: 'greenlet loops / unpatched', metric: 'ops_per_s', numerator: 'greenlets', denominator: 'unpatched', target: 0.9 },
    { label: 'patched / patched without the integration', metric: 'ops_per_s', numerator: 'patched', denominator: 'plain_patch' },
  ],
});
