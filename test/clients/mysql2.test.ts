// mysql2 under the patch, against a real MariaDB started for this file: a query is an
// op of the greenlet that issues it; a kill or a timeout kills it on the server (KILL
// QUERY) and leaves the connection or pool usable, with nothing leaked. Each case runs
// in a patched process of its own (test/fixtures/clients-mysql2.ts), as ESM and CJS.
import { describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';
import { describeCancelMatrix, useServer } from './harness.js';
import { startMariaDB } from '../servers/mariadb.js';

const server = useServer(startMariaDB, 60_000);

const CASES = ['connection', 'callback', 'warmPool', 'freshPool', 'execute', 'transaction'] as const;

describeCancelMatrix({
  lib: 'mysql2',
  fixture: 'clients-mysql2.ts',
  env: () => ({ MYHOST: server().host, MYPORT: String(server().port) }),
  cases: CASES,
  cancelledTitle: '%s: the greenlet gets the error at its await, the server kills the query within 1 s, the connection serves the next query',
  runInfoTitle: '%s: run-info names the operation (mysql.query SELECT SLEEP(?))',
  more: (out) => {
    it('the killed query\'s connection stays the same server thread, and pools keep one connection each', () => {
      expect(out.sameThread).toBe(true);
      expect(out.poolConnections).toEqual([1, 1]);
    });

    it('a connection opened by a greenlet outlives the greenlet (its socket is nobody\'s)', () => {
      expect(out.openerKilledConnUsable).toBe(true);
    });

    it('an operation\'s name never carries a literal of the statement (an inline string reads ?)', () => {
      expect(out.literalsHidden).toBe(true);
    });

    it('leaves no connection on the server, no fd and no handle in the process', () => {
      expect(out.connectionsLeft).toBe(0);
      expect(out.fdsLeft as number).toBeLessThanOrEqual(0);
      expect((out.handles as string[]).filter((h) => h !== 'PipeWrap')).toEqual([]);
    });
  },
});

describe('the mysql2 rows of the patch table', () => {
  it('wrap connections, pools and the promise API when mysql2 is loaded after patchAll(), and unpatchAll() removes every wrapper', () => {
    const { json } = runFixture('clients-mysql2-identity.ts');
    expect(json.on).toBe(true);
    expect(json.wrapped).toEqual(new Array(11).fill(true));
    expect(json.after).toEqual(new Array(11).fill(false));
  });

  it('patchAll({ mysql2: false }) leaves mysql2 alone', () => {
    const { json } = runFixture('clients-mysql2-identity.ts', ['off']);
    expect(json.on).toBe(false);
    expect(json.wrapped).toEqual(new Array(11).fill(false));
  });
});

// The KILL QUERY's side connection refused (a relay in the fixture stops accepting once
// the query runs): the interrupt still ends the wait on time, and the failure is said.
describe('mysql2: a KILL QUERY that cannot reach the server', () => {
  it('the timeout still ends the wait on time, the failure is warned once (GREENIO_MYSQL_KILL), the query runs to its end, the pool serves the next query', () => {
    const r = runFixture('clients-cancel-refused.ts', ['mysql2'], { MYHOST: server().host, MYPORT: String(server().port) });
    expect(r.json).toEqual({ error: 'TimeoutError', ms: expect.any(Number), warnings: ['GREENIO_MYSQL_KILL'], stillRunning: 1, next: 6 });
    expect(r.json.ms as number).toBeLessThan(2000); // the statement sleeps 2.5 s; the timeout is 300 ms
  }, 60_000);
});
