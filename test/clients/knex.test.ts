// A library over the SQL clients, as users write it (knex, its pool opened in main), against
// a real PostgreSQL and a real MariaDB started for this file. Two things a plain client call
// does not show: knex answers a failed query of a transaction with a ROLLBACK before it
// rejects (a killed or timed-out greenlet unwinds through more IO), and a knex query builder
// is a thenable that sends its query only when awaited (`withTimeout(ms, () => knex.raw(...))`
// must time that query). Fixture: clients-knex-unwind.ts, over pg and mysql2, as ESM and
// CJS, killed and timed out.
import { describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';
import { useServer } from './harness.js';
import { startPostgres } from '../servers/postgres.js';
import { startMariaDB } from '../servers/mariadb.js';

const pg = useServer(startPostgres, 60_000);
const maria = useServer(startMariaDB, 60_000);
const env = (client: 'pg' | 'mysql2'): Record<string, string> =>
  client === 'pg' ? { PGHOST: pg().host, PGPORT: String(pg().port) } : { MYHOST: maria().host, MYPORT: String(maria().port) };

describe.each([
  ['pg', 'esm', 'kill'],
  ['pg', 'esm', 'timeout'],
  ['pg', 'cjs', 'kill'],
  ['pg', 'cjs', 'timeout'],
  ['mysql2', 'esm', 'kill'],
  ['mysql2', 'cjs', 'timeout'],
] as const)('knex over %s (%s, %s)', (client, mode, how) => {
  let run: ReturnType<typeof runFixture> | undefined;
  const out = (): Record<string, unknown> => {
    run ??= runFixture('clients-knex-unwind.ts', [client, mode, how], env(client));
    return run.json;
  };
  const expected = how === 'kill' ? 'GreenletExit' : 'TimeoutError';

  it('a transaction: the greenlet gets the error, knex rolls back (nothing committed, nothing left open on the server) and gets its connection back', () => {
    const r = out().transaction as Record<string, unknown>;
    expect(r.error).toBe(expected);
    expect(r.ms as number).toBeLessThan(5000); // the statement sleeps 10 s
    expect(out().rowsCommitted).toBe(0);
    expect(r.serverClearWithin1s).toBe(true);
    expect(r.poolReturnedWithin1s).toBe(true);
  });

  it('a query builder (a thenable that queries when awaited) is interrupted and cancelled on the server, in a greenlet and in main', () => {
    const r = out().builder as Record<string, unknown>;
    expect(r.error).toBe(expected);
    expect(r.serverClearWithin1s).toBe(true);
    expect(r.poolReturnedWithin1s).toBe(true);
    const m = out().builderInMain as Record<string, unknown>;
    expect(m.error).toBe('TimeoutError');
    expect(m.ms as number).toBeLessThan(5000);
    expect(m.serverClearWithin1s).toBe(true);
  });

  it('greenio never had to abandon a greenlet (no "could not interrupt" warning); the pool serves queries and knex.destroy() ends', () => {
    out();
    expect(run!.stderr).not.toContain('could not interrupt');
    expect(out().usable).toBe(true);
    expect(out().dropped).toBe(true); // no transaction left holding the table
    expect(out().destroyed).toBe(true);
  });
});
