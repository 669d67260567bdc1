// ORMs over the SQL clients, as users write them (the pool opened in main), against a real
// PostgreSQL and a real MariaDB started for this file: Sequelize, TypeORM and drizzle.
// What a plain client call does not show: Sequelize and TypeORM wrap a failed query's error
// in their own (Sequelize in `parent`/`original`, TypeORM in `driverError`; drizzle in
// `cause`), so a kill or a timeout reaches the greenlet wrapped, and must still read as the
// kill (the greenlet ends killed) or the timeout (withTimeout rejects with its TimeoutError,
// the ORM's error as its cause). Fixture: clients-orm.ts, one process per client.
import { describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';
import { useServer } from './harness.js';
import { startPostgres } from '../servers/postgres.js';
import { startMariaDB } from '../servers/mariadb.js';

const pg = useServer(startPostgres, 60_000);
const maria = useServer(startMariaDB, 60_000);
const env = (client: 'pg' | 'mysql2'): Record<string, string> =>
  client === 'pg' ? { PGHOST: pg().host, PGPORT: String(pg().port) } : { MYHOST: maria().host, MYPORT: String(maria().port) };

// What each ORM wraps the client's error in.
const WRAPPER = { sequelize: 'SequelizeDatabaseError', typeorm: 'QueryFailedError', drizzle: 'Error' } as const;

describe.each(['pg', 'mysql2'] as const)('over %s', (client) => {
  let run: ReturnType<typeof runFixture> | undefined;
  const all = (): Record<string, unknown> => {
    run ??= runFixture('clients-orm.ts', [client], env(client));
    return run.json;
  };
  const cleanly = (r: Record<string, unknown>): void => {
    expect(r.ms as number).toBeLessThan(5000); // the statement sleeps 10 s
    expect(r.serverClearWithin1s).toBe(true);
    expect(r.poolReturnedWithin1s).toBe(true);
  };

  describe.each(['sequelize', 'typeorm', 'drizzle'] as const)('%s', (orm) => {
    const out = (): Record<string, unknown> => all()[orm] as Record<string, unknown>;

    it('a killed greenlet ends killed (GreenletExit, successful) though the ORM wrapped the kill; rolled back, cancelled on the server, connection returned', () => {
      for (const key of ['killTransaction', 'killQuery']) {
        const r = out()[key] as Record<string, unknown>;
        expect(r.error, key).toBe('GreenletExit');
        expect(r.killedAsSuccess, key).toBe(true);
        cleanly(r);
      }
    });

    it('withTimeout rejects with its TimeoutError, the ORM\'s error as the cause; rolled back, cancelled on the server, connection returned', () => {
      for (const key of ['timeoutTransaction', 'timeoutQuery']) {
        const r = out()[key] as Record<string, unknown>;
        expect(r.error, key).toBe('TimeoutError');
        expect(r.cause, key).toBe(WRAPPER[orm]);
        cleanly(r);
      }
    });

    it('nothing committed, no abandonment; the pool serves queries, the table drops (no lock held) and the ORM closes', () => {
      expect(out().rowsCommitted).toBe(0);
      expect(run!.stderr).not.toContain('could not interrupt');
      expect(out().usable).toBe(true);
      expect(out().dropped).toBe(true);
      expect(out().closed).toBe(true);
    });
  });
});
