// pg under the patch, against a real PostgreSQL started for this file: a query is an op
// of the greenlet that issues it; a kill or a timeout cancels it on the server and
// leaves the client or pool usable, with nothing leaked. Each case runs in a patched
// process of its own (test/fixtures/clients-pg.ts), imported as ESM and required as CJS.
import { describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';
import { describeCancelMatrix, useServer } from './harness.js';
import { startPostgres } from '../servers/postgres.js';

const server = useServer(startPostgres, 60_000);

const CASES = ['client', 'callback', 'warmPool', 'freshPool', 'transaction'] as const;

describeCancelMatrix({
  lib: 'pg',
  fixture: 'clients-pg.ts',
  env: () => ({ PGHOST: server().host, PGPORT: String(server().port) }),
  cases: CASES,
  cancelledTitle: '%s: the greenlet gets the error at its await, the server cancels the query within 1 s, the client serves the next query',
  runInfoTitle: '%s: run-info names the operation (pg.query SELECT pg_sleep($1))',
  more: (out) => {
    it('a pool keeps its one client: the cancelled one goes back, none is added', () => {
      expect(out.warmPoolClients).toBe(1);
      expect(out.freshPoolClients).toBe(1);
    });

    it('a client opened by a greenlet outlives the greenlet (its socket is nobody\'s)', () => {
      expect(out.openerKilledClientUsable).toBe(true);
    });

    it('an operation\'s name never carries a literal of the statement (an inline string reads ?)', () => {
      expect(out.literalsHidden).toBe(true);
    });

    it('leaves no connection on the server, no fd and no handle in the process', () => {
      expect(out.backendsLeft).toBe(0);
      expect(out.fdsLeft as number).toBeLessThanOrEqual(0);
      expect((out.handles as string[]).filter((h) => h !== 'PipeWrap')).toEqual([]);
    });
  },
});

describe('the pg rows of the patch table', () => {
  it('wrap Client and Pool when pg is loaded after patchAll(), and unpatchAll() puts the originals back', () => {
    const { json } = runFixture('clients-pg-identity.ts');
    expect(json.on).toBe(true);
    expect(json.wrapped).toEqual([true, true, true, true, true]);
    expect(json.after).toEqual([false, false, false, false, false]);
  });

  it('patchAll({ pg: false }) leaves pg alone', () => {
    const { json } = runFixture('clients-pg-identity.ts', ['off']);
    expect(json.on).toBe(false);
    expect(json.wrapped).toEqual([false, false, false, false, false]);
  });
});
