// A library over pg, as users write it (knex, its pool opened in main), against a real
// PostgreSQL started for this file. Two things a plain pg call does not show: knex answers
// a failed query of a transaction with a ROLLBACK before it rejects (a killed or timed-out
// greenlet unwinds through more IO), and a knex query builder is a thenable that sends its
// query only when awaited (`withTimeout(ms, () => knex.raw(...))` must time that query).
// Fixture: clients-pg-unwind.ts, as ESM and CJS, killed and timed out.
import { describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';
import { useServer } from './harness.js';
import { startPostgres } from '../servers/postgres.js';

const server = useServer(startPostgres, 60_000);

describe.each([
  ['esm', 'kill'],
  ['esm', 'timeout'],
  ['cjs', 'kill'],
  ['cjs', 'timeout'],
] as const)('knex over pg (%s, %s)', (mode, how) => {
  let run: ReturnType<typeof runFixture> | undefined;
  const out = (): Record<string, unknown> => {
    run ??= runFixture('clients-pg-unwind.ts', [mode, how], { PGHOST: server().host, PGPORT: String(server().port) });
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
    expect(out().destroyed).toBe(true);
  });
});
