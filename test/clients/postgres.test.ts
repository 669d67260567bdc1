// postgres.js (`postgres` v3) under the patch, against a real PostgreSQL started for this
// file: an awaited query is an op of the awaiting greenlet, whoever opened the connection;
// a kill or a timeout cancels it on the server (postgres.js's own cancel request) and
// leaves `sql` usable. Each case runs in a patched process of its own
// (test/fixtures/clients-postgres.ts), through the package's CommonJS build (`require`)
// and its ES-module build (`import`), which only Node ≥ 22.15 lets greenio patch. Run for
// the installed postgres.js 3 and for postgres.js 4 (client-majors/), which is an ES module
// only: on Node 20 it cannot be patched at all (the unhooked case below says what then).
import { describe, expect, it } from 'vitest';
import { NEXT_MAJORS, OTHER_MAJORS, runFixture } from '../run-fixture.js';
import { MAJORS, describeCancelMatrix, preload, useServer, type Major } from './harness.js';
import { startPostgres } from '../servers/postgres.js';
import { esmHookAvailable } from '../../patches/esm-hook.js'; // Node 20: none (no in-thread module hooks)

const server = useServer(startPostgres, 60_000);
const VERSIONS: Record<Major, RegExp> = { installed: /^3\./, 'next major': /^4\./ };
/** The import styles greenio can patch, per major: postgres.js 4 has no CommonJS build. */
const MODES: Record<Major, ReadonlyArray<'esm' | 'cjs'>> = {
  installed: esmHookAvailable ? ['esm', 'cjs'] : ['cjs'],
  'next major': esmHookAvailable ? ['esm'] : [],
};

for (const major of MAJORS.filter((m) => m === 'installed' || OTHER_MAJORS)) {
  const env = (): Record<string, string> => ({ PGHOST: server().host, PGPORT: String(server().port), ...(major === 'installed' ? {} : NEXT_MAJORS) });

  if (MODES[major].length > 0) describeCancelMatrix({
    lib: `postgres.js ${major === 'installed' ? 3 : 4}`,
    fixture: 'clients-postgres.ts',
    modes: MODES[major],
    // postgres.js 4: the timeout only (the patch's code is the same for both interrupts).
    hows: major === 'installed' ? undefined : ['timeout'],
    env,
    cases: ['shared', 'unsafe', 'fresh', 'transaction', 'cursor'],
    cancelledTitle: '%s: the greenlet gets the error at its await, the server cancels the query within 1 s, sql serves the next query',
    runInfoTitle: '%s: run-info names the operation (postgres.query select pg_sleep($1))',
    more: (out) => {
      it(`is postgres.js ${major === 'installed' ? 3 : 4}`, () => {
        expect(out.version).toMatch(VERSIONS[major]);
      });

      it('two queries pipelined on one connection: both interrupted at once, neither left on the server, the connection usable', () => {
        const p = out.pipelined as Record<string, unknown>;
        expect(p.errors).toEqual(out.how === 'kill' ? ['GreenletExit', 'GreenletExit'] : ['TimeoutError', 'TimeoutError']);
        expect(p.ms as number).toBeLessThan(5000); // each sleeps 10 s
        expect(p.serverCancelledWithin1s).toBe(true);
        expect(p.usable).toBe(true);
      });

      it('a cursor iterated to its end under the patch gives every row, batch by batch', () => {
        expect(out.cursorBatches).toEqual([10, 10, 5]);
      });

      it('the transaction committed nothing (its row is gone), and names never carry a literal', () => {
        expect((out.transaction as Record<string, unknown>).usable).toBe(true); // count 0 after the rollback
        expect(out.literalsHidden).toBe(true);
      });

      it('withTimeout around a query fn returns unawaited still cancels it: the query starts in the timed flow', () => {
        const r = out.returnedQuery as Record<string, unknown>;
        expect(r.error).toBe('TimeoutError');
        expect(r.ms as number).toBeLessThan(5000);
        expect(r.serverCancelledWithin1s).toBe(true);
      });

      it('its queries are client operations on tracing:greenio.client, ended by the interrupt\'s error', () => {
        const name = out.how === 'kill' ? 'GreenletExit' : 'TimeoutError';
        expect(out.clientEvents).toEqual(['start postgres.query select pg_sleep($1)', `error ${name}`]);
      });

      it('leaves no connection on the server, no fd and no handle in the process', () => {
        expect(out.backendsLeft as number).toBeLessThanOrEqual(0); // sessions of an earlier process may still be closing
        expect(out.fdsLeft as number).toBeLessThanOrEqual(0);
        expect(out.handles).toEqual([]);
      });
    },
  });

  if (MODES[major].length > 0) describe.each(MODES[major])(`the postgres.js rows of the patch table (${major}, %s build)`, (mode) => {
    it('wrap the query class when postgres.js is loaded after patchAll(), and unpatchAll() puts the originals back', () => {
      const { json } = runFixture('clients-postgres-identity.ts', [mode], env());
      expect(json).toEqual({ on: true, wrapped: [true, true], after: [false, false], restored: [true, true] });
    });

    it('patchAll({ postgres: false }) leaves postgres.js alone', () => {
      const { json } = runFixture('clients-postgres-identity.ts', [mode, 'off'], env());
      expect(json).toEqual({ on: false, wrapped: [false, false], after: [false, false] });
    });
  });

  describe(`postgres.js imported as an ES module, the patch preloaded (${major})`, () => {
    if (esmHookAvailable) {
      it('a static import is patched: a timed-out query is cancelled on the server, sql serves the next', () => {
        const r = runFixture('clients-postgres-static.mjs', [], env(), preload);
        expect(r.json).toEqual({ error: 'TimeoutError', ms: expect.any(Number), left: 0, next: 6 });
        expect(r.json.ms as number).toBeLessThan(5000);
        expect(r.stderr).not.toContain('could not interrupt');
      }, 60_000);
    } else {
      it('Node 20 cannot hook the ES-module build: a timeout still returns on time, by abandonment, and says so', () => {
        const r = runFixture('clients-postgres.ts', ['esm', 'unhooked'], env());
        expect(r.json.version).toMatch(VERSIONS[major]);
        expect(r.json.error).toBe('TimeoutError');
        expect(r.json.ms as number).toBeLessThan(1000); // the statement sleeps 1 s
        expect(r.stderr).toContain('could not interrupt');
      }, 60_000);
    }
  });

  // pg's cancel request and postgres.js's alike: a relay in the fixture refuses the side
  // connection. (Before, postgres.js's refused request was an unhandled rejection that ended
  // the process: `query.cancel()` drops the request's promise.)
  if (major === 'installed') describe.each(['pg', 'postgres.js'])(`%s (${major}): a cancel request that cannot reach the server`, (lib) => {
    it('the timeout still ends the wait on time, the failure is warned (GREENIO_PG_CANCEL), the query runs to its end, the client serves the next query', () => {
      const r = runFixture('clients-cancel-refused.ts', [lib], env());
      expect(r.json).toEqual({ error: 'TimeoutError', ms: expect.any(Number), warnings: ['GREENIO_PG_CANCEL'], stillRunning: 1, next: 6 });
      expect(r.json.ms as number).toBeLessThan(2000); // the statement sleeps 2.5 s; the timeout is 300 ms
      expect(r.stderr).toContain(`could not cancel a ${lib} query on the server`);
    }, 60_000);
  });
}
