// pg-pool's idle timer is the pool's, not an op of the greenlet that released a client
// (patches/pg.ts poolRelease, patches/timers.ts timerPass): a pool query starts no `timer`
// op, and killing a greenlet after its release leaves the pool able to close the idle
// client. Against a real PostgreSQL started for this file; fixture clients-pg-timers.ts.
import { expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';
import { useServer } from './harness.js';
import { startPostgres } from '../servers/postgres.js';

const server = useServer(startPostgres, 60_000);

it("40 pool queries start no `timer` op; a greenlet killed after its release leaves the pool's idle timer running, its own timer does not survive", () => {
  const r = runFixture('clients-pg-timers.ts', [], { PGHOST: server().host, PGPORT: String(server().port) });
  expect(r.status, r.stderr).toBe(0);
  expect(r.json).toEqual({
    right: 40,
    queryTimers: 0,
    closedAfterQueries: true,
    idleBeforeKill: 1,
    closedAfterKill: true,
    controlFired: false,
  });
}, 90_000);
