// pg under greenio: 20,000 short queries (`SELECT $1::int`) at concurrency 50 over a
// pg.Pool of 20 clients, unpatched, patched (50 async loops in main) and patched with
// each loop a greenlet; and, patched, the latency from a kill to the server-side cancel
// of a running `pg_sleep` (kill → the cancelled query's client answers its next query,
// which it sends only once the cancel request is done). Each variant starts its own
// PostgreSQL (test/servers/postgres.ts). Target: patched >= 0.9x unpatched.
import { sqlWorkload } from './_clients-sql.js';
import { startPostgres } from '../test/servers/postgres.js';

export default sqlWorkload({
  name: 'clients_pg',
  description: (n, c) => `pg: ${n} short queries at concurrency ${c} over a pg.Pool(20), unpatched vs patched; kill-to-server-cancel latency`,
  patchKey: 'pg',
  start: startPostgres,
  async pool(config) {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ ...config, max: 20 });
    return {
      query: async (i) => (await pool.query('SELECT $1::int AS n', [i])).rows[0].n as number,
      async connection() {
        const client = await pool.connect();
        return { sleep: () => client.query('SELECT pg_sleep(10)'), ping: () => client.query('SELECT 1'), release: () => client.release() };
      },
      end: () => pool.end(),
    };
  },
});
