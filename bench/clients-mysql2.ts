// mysql2 under greenio: 20,000 short queries (`SELECT ? AS n`) at concurrency 50 over a
// mysql2/promise pool of 20 connections, unpatched, patched (50 async loops in main)
// and patched with each loop a greenlet; and, patched, the latency from a kill to the
// server-side KILL QUERY of a running `SLEEP` (kill → the connection answers its next
// query, which it sends only once the KILL is answered). Each variant starts its own
// MariaDB (test/servers/mariadb.ts). Target: patched >= 0.9x unpatched. Also greenlets
// against unpatched with both processes holding 8 MB first (see bench/_clients-sql.ts).
import { sqlWorkload } from './_clients-sql.js';
import { startMariaDB } from '../test/servers/mariadb.js';

export default sqlWorkload({
  name: 'clients_mysql2',
  description: (n, c) => `mysql2: ${n} short queries at concurrency ${c} over a pool of 20, unpatched vs patched; kill-to-KILL-QUERY latency`,
  patchKey: 'mysql2',
  withState: true,
  start: startMariaDB,
  async pool(config) {
    const mysql = ((await import('mysql2/promise')) as unknown as { default: typeof import('mysql2/promise') }).default;
    const pool = mysql.createPool({ ...config, connectionLimit: 20 });
    return {
      query: async (i) => ((await pool.query('SELECT ? AS n', [i]))[0] as Array<{ n: number }>)[0]!.n,
      async connection() {
        const conn = await pool.getConnection();
        return { sleep: () => conn.query('SELECT SLEEP(10)'), ping: () => conn.query('SELECT 1'), release: () => conn.release() };
      },
      end: () => pool.end(),
    };
  },
});
