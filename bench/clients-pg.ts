// pg under greenio: 20,000 short queries (`SELECT $1::int`) at concurrency 50 over a
// pg.Pool of 20 clients, unpatched, patched (50 async loops in main) and patched with
// each loop a greenlet; and, patched, the latency from a kill to the server-side cancel
// of a running `pg_sleep` (kill → the cancelled query's client answers its next query,
// which it sends only once the cancel request is done). Each variant starts its own
// PostgreSQL (test/servers/postgres.ts). Target: patched >= 0.9x unpatched.
import { defineWorkload, median, type Metrics } from './lib.js';
import { startPostgres } from '../test/servers/postgres.js';

const N = Number(process.env.N ?? 20_000);
const C = 50;

async function run(mode: 'unpatched' | 'patched' | 'greenlets' | 'plain_patch'): Promise<Metrics> {
  const server = await startPostgres();
  try {
    // plain_patch: Node's IO patched, this client's integration off (what the integration itself costs).
    if (mode !== 'unpatched') (await import('../src/monkey.js')).patchAll({ warnLate: false, ...(mode === 'plain_patch' ? { pg: false } : {}) });
    const { default: pg } = await import('pg');
    const { spawn, joinAll, sleep } = await import('../src/index.js');
    const pool = new pg.Pool({ ...server.config, max: 20 });
    let next = 0;
    const loop = async (): Promise<void> => {
      while (next < N) {
        const i = next++;
        const r = await pool.query('SELECT $1::int AS n', [i]);
        if (r.rows[0].n !== i) throw new Error('wrong row');
      }
    };
    // Warm up: every client connected, statements planned.
    await Promise.all(Array.from({ length: 20 }, () => pool.query('SELECT 1')));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    if (mode === 'greenlets') await joinAll(Array.from({ length: C }, () => spawn(loop)), { raiseError: true });
    else await Promise.all(Array.from({ length: C }, loop));
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    // Client CPU per query: what the patch costs, less swayed by a busy machine than ops/s.
    const out: Metrics = { ops_per_s: Math.round((N / ms) * 1000), client_cpu_us_per_op: Number(((cpu.user + cpu.system) / N).toFixed(1)) };
    if (mode === 'patched') {
      const client = await pool.connect();
      const lat: number[] = [];
      for (let i = 0; i < 20; i++) {
        const g = spawn(() => client.query('SELECT pg_sleep(10)'));
        await sleep(30);
        const t = performance.now();
        g.kill(undefined, { block: false });
        await client.query('SELECT 1');
        lat.push(performance.now() - t);
      }
      client.release();
      out.kill_to_cancel_ms = Number(median(lat).toFixed(2));
    }
    await pool.end();
    return out;
  } finally {
    await server.stop();
  }
}

export default defineWorkload({
  name: 'clients_pg',
  description: `pg: ${N} short queries at concurrency ${C} over a pg.Pool(20), unpatched vs patched; kill-to-server-cancel latency`,
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
