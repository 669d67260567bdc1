// A kill's cancel request never cancels the connection's next query. PostgreSQL names a
// backend in a cancel request, not a query, and signals it twice (process and process
// group); on a busy machine the second signal can come after the cancelled query ended
// (CI saw a query after a kill fail with 57014). The cancel proxy of
// test/fixtures/pg-cancel-proxy.ts makes that certain: it forwards each request twice,
// 300 ms apart. Against a real PostgreSQL started for this file, through
// test/fixtures/clients-postgres-crossing.ts: postgres.js (3 by import and require, 4)
// and pg under the patch; postgres.js 3 unpatched, cancelled by its own `query.cancel()`,
// is the control that shows what the proxy provokes.
import { describe, expect, it } from 'vitest';
import { NEXT_MAJORS, OTHER_MAJORS, runFixture } from '../run-fixture.js';
import { useServer } from './harness.js';
import { startPostgres } from '../servers/postgres.js';
import { esmHookAvailable } from '../../patches/esm-hook.js';

const server = useServer(startPostgres, 60_000);
const env = (next = false): Record<string, string> => ({ PGHOST: server().host, PGPORT: String(server().port), ...(next ? NEXT_MAJORS : {}) });
const NEXT_MS = 1000; // the next query sleeps 1 s
const REPEAT_MS = 300;

describe('the control: postgres.js 3 without the patch, cancelled by its own query.cancel()', () => {
  it("the proxy's late signal cancels the next query (57014), and a cancel in the describe gap is lost: the statement runs", () => {
    const { json } = runFixture('clients-postgres-crossing.ts', ['control'], env());
    const crossing = json.crossing as { next: string };
    expect(crossing.next).toMatch(/^57014 /);
    expect(json.gap).toMatchObject({ inGap: true, cancelled: true, ranAfterAnswer: true });
  }, 60_000);
});

const RUNS: Array<[string, string, boolean]> = [
  ...(esmHookAvailable ? [['postgres.js 3 (esm import)', 'esm', false] as [string, string, boolean]] : []),
  ['postgres.js 3 (cjs require)', 'cjs', false],
  ...(esmHookAvailable && OTHER_MAJORS ? [['postgres.js 4', 'esm', true] as [string, string, boolean]] : []),
];

describe.each(RUNS)('%s under the patch, its greenlet killed', (_name, mode, next) => {
  const out: Record<string, unknown> = {};
  it('the next query on the connection waits for the cancel request to be through, then answers', () => {
    Object.assign(out, runFixture('clients-postgres-crossing.ts', [mode], env(next)).json);
    const crossing = out.crossing as { next: string; ms: number };
    expect(crossing.next).toBe('ok');
    // Held until the proxy closed the request's connection (after its second signal).
    expect(crossing.ms).toBeGreaterThanOrEqual(REPEAT_MS + NEXT_MS - 50);
  }, 60_000);

  it('a kill during the describe round trip: the statement is never executed, the connection answers next', () => {
    // postgres.js 3 sends a cancel request then (dropped by the idle backend); 4 sends none.
    expect(out.gap).toMatchObject({ inGap: true, ranAfterAnswer: false, next: 'ok' });
  });

  it('a query handed to the held connection and killed before the hold ends: the connection still serves the pool', () => {
    expect(out.heldKilled).toEqual({ error: 'GreenletExit', next: 'ok' });
  });

  it('in a transaction: the rollback waits for the hold too, the row is gone, the next query answers', () => {
    expect(out.transaction).toEqual({ rows: 0, next: 'ok' });
  });
});

describe('pg under the patch, its pooled query killed', () => {
  it('the next query on the connection waits for the cancel request to be through, then answers', () => {
    const { json } = runFixture('clients-postgres-crossing.ts', ['pg'], env());
    const crossing = json.crossing as { next: string; ms: number };
    expect(crossing.next).toBe('ok');
    expect(crossing.ms).toBeGreaterThanOrEqual(REPEAT_MS + NEXT_MS - 50);
  }, 60_000);
});
