// mysql2's other ways to run a statement, under the patch against a real MariaDB started
// for this file: a prepared statement's execute() (promise and callback APIs), a query's
// .stream() read by `for await` (a connection's, and a pool's `pool.query(sql).stream()`),
// the emitter form, and the handshake of
// `await mysql.createConnection()`. Each is an op of the greenlet that issues it; a kill
// or a timeout ends it at once, on the server too (KILL QUERY; the handshake's socket
// closed), and the connection serves the next statement. Fixture: clients-mysql2-more.ts.
import { expect, it } from 'vitest';
import { describeCancelMatrix, useServer } from './harness.js';
import { startMariaDB } from '../servers/mariadb.js';

const server = useServer(startMariaDB, 60_000);

const CASES = ['prepared', 'preparedCallback', 'stream', 'poolStream', 'emitter', 'handshake'] as const;

describeCancelMatrix({
  lib: 'mysql2',
  fixture: 'clients-mysql2-more.ts',
  env: () => ({ MYHOST: server().host, MYPORT: String(server().port) }),
  cases: CASES,
  cancelledTitle: '%s: the greenlet gets the error at its await, the server stops the statement (or the handshake) within 1 s, the connection serves the next one',
  runInfoTitle: '%s: run-info names the operation (mysql.execute / mysql.query SELECT SLEEP(?) AS s, mysql.connect host:port)',
  more: (out) => {
    it('prepare() is an op of its own (mysql.prepare SELECT ? + ? AS n), and its statement works', () => {
      expect(out.prepareNamed).toBe(true);
      expect(out.prepareUsable).toBe(true);
    });

    it('leaves no connection on the server, no fd and no handle in the process', () => {
      expect(out.connectionsLeft).toBe(0);
      expect(out.fdsLeft as number).toBeLessThanOrEqual(0);
      expect((out.handles as string[]).filter((h) => h !== 'PipeWrap')).toEqual([]);
    });
  },
});
