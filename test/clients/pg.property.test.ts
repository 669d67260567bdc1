// Property: under a storm of random kills and timeouts over 1,000 pg transactions (two
// fast-check runs of 500, 50 greenlets at a time over a 10-client pg.Pool), every
// committed row is present, no row is present that was not committed (save those whose
// COMMIT itself was interrupted: either outcome is right), and no client is lost from the
// pool or left in a transaction. Runs patched in its own process against a real server.
import { expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';
import { startPostgres } from '../servers/postgres.js';
import { useServer } from './harness.js';

const server = useServer(startPostgres, 60_000);

it('a storm of kills and timeouts over 1,000 transactions loses no committed row and no pool client', () => {
  const { json } = runFixture('clients-pg-storm.ts', ['2', '500'], { PGHOST: server().host, PGPORT: String(server().port) });
  expect(json.failures).toEqual([]);
  expect(json.runs).toBe(2);
  const o = json.outcomes as Record<string, number>;
  // The storm really hit: transactions committed, were killed, timed out, and some were
  // cut while their query ran on the server (cancelled there).
  expect(o.committed).toBeGreaterThan(0);
  expect(o.GreenletExit).toBeGreaterThan(0);
  expect(o.TimeoutError).toBeGreaterThan(0);
  expect(o.committed + o.GreenletExit + o.TimeoutError).toBe(1000);
  expect(json.cutInSleep as number).toBeGreaterThan(0);
}, 120_000);
