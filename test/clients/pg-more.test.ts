// pg Submittables under the patch, against a real PostgreSQL started for this file: a
// pg-cursor Cursor, a pg-query-stream QueryStream and a raw `new Query(text, values, cb)`
// are ops of the greenlet that reads them; a kill or a timeout cancels the running
// statement on the server, closes the portal, throws at the greenlet's await (the
// Query's callback gets the error, once), and the client or pool serves the next query.
// Fixture: clients-pg-more.ts, as ESM and CJS.
import { expect, it } from 'vitest';
import { describeCancelMatrix, useServer } from './harness.js';
import { startPostgres } from '../servers/postgres.js';

const server = useServer(startPostgres, 60_000);

describeCancelMatrix({
  lib: 'pg-cursor / pg-query-stream',
  fixture: 'clients-pg-more.ts',
  env: () => ({ PGHOST: server().host, PGPORT: String(server().port) }),
  cases: ['cursor', 'stream', 'rawQuery'],
  cancelledTitle: '%s: the greenlet gets the error at its await, the server cancels the statement within 1 s, the client serves the next query',
  runInfoTitle: '%s: run-info names the operation (pg.cursor.read / pg.stream SELECT pg_sleep($1) AS s)',
  more: (out) => {
    it('the pool keeps its one client: the cursor\'s goes back, none is added', () => {
      expect(out.poolClients).toBe(1);
    });

    it("a raw Query's callback gets the interrupt's error once (not the server's late 57014 as well)", () => {
      expect(out.rawQueryCalls).toBe(2); // the interrupted query's, then the usable() check's
    });

    it('a cursor left open between reads is closed when its greenlet is interrupted, and run-info named it (pg.cursor …)', () => {
      const r = out.idleCursor as Record<string, unknown>;
      expect(r.error).toBe(out.how === 'kill' ? 'GreenletExit' : 'TimeoutError');
      expect(r.named).toBe(true);
      expect(r.usable).toBe(true);
    });

    it('a read timed out on its own throws TimeoutError at its deadline, not at the statement\'s end, and cancels it on the server', () => {
      const r = out.readTimeout as Record<string, unknown>;
      expect(r.error).toBe('TimeoutError');
      expect(r.ms as number).toBeLessThan(5000); // the statement sleeps 10 s
      expect(r.serverCancelledWithin1s).toBe(true);
      expect(r.usable).toBe(true);
    });

    it('leaves no connection on the server, no fd and no handle in the process', () => {
      expect(out.backendsLeft).toBe(0);
      expect(out.fdsLeft as number).toBeLessThanOrEqual(0);
      expect((out.handles as string[]).filter((h) => h !== 'PipeWrap')).toEqual([]);
    });
  },
});
