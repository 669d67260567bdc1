// Prisma 7 over pg (@prisma/adapter-pg, the Rust-free client Prisma makes by default since
// 7.0), as users write it, against a real PostgreSQL started for this file. Its queries are
// pg's, so they are operations of the greenlet that awaits them: a kill or a timeout
// cancels them on the server, and Prisma's own error (a PrismaClientKnownRequestError that
// keeps only the interrupt's code and message) still reads as the kill or the timeout.
// The client is made here, as a user makes it: `prisma generate` from
// test/fixtures/prisma/schema.prisma, into a scratch directory under node_modules/.cache
// (the generated code imports @prisma/client, so it must live where that resolves).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';
import { useServer } from './harness.js';
import { startPostgres } from '../servers/postgres.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pg = useServer(startPostgres, 60_000);
let dir = '';

beforeAll(() => {
  const cache = join(root, 'node_modules', '.cache', 'greenio-test');
  mkdirSync(cache, { recursive: true });
  dir = mkdtempSync(join(cache, 'prisma-'));
  cpSync(join(root, 'test', 'fixtures', 'prisma', 'schema.prisma'), join(dir, 'schema.prisma'));
  execFileSync(process.execPath, [join(root, 'node_modules', 'prisma', 'build', 'index.js'), 'generate', '--schema', 'schema.prisma'], {
    cwd: dir,
    timeout: 120_000,
    stdio: 'pipe',
    env: {
      ...process.env,
      // `generate` runs no engine (Prisma 7 compiles queries in WebAssembly shipped with
      // @prisma/client), but the CLI wants a schema-engine binary present and would fetch
      // one from binaries.prisma.sh, out of reach here: it is given a stand-in it never runs.
      PRISMA_SCHEMA_ENGINE_BINARY: '/bin/false',
      CHECKPOINT_DISABLE: '1',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
    },
  });
}, 150_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Prisma 7 over pg', () => {
  let run: ReturnType<typeof runFixture> | undefined;
  const out = (): Record<string, unknown> => {
    run ??= runFixture('clients-prisma.ts', [], { PGHOST: pg().host, PGPORT: String(pg().port), PRISMA_CLIENT: join(dir, 'generated', 'client.ts') });
    return run.json;
  };
  const CASES = { Raw: 'SELECT pg_sleep(?)', Transaction: 'SELECT pg_sleep(?)', Model: 'INSERT INTO "public"."Job"' };

  describe.each(['kill', 'timeout'] as const)('%s', (how) => {
    it.each(Object.entries(CASES))('%s: run-info names the query; the greenlet gets the kill or its TimeoutError (Prisma\'s error as the cause) at once; nothing left on the server', (key, sql) => {
      const r = out()[`${how}${key}`] as Record<string, unknown>;
      expect(r.waitsOn).toContain(`pg.query ${sql}`);
      if (how === 'kill') {
        expect(r.error).toBe('GreenletExit');
      } else {
        expect(r.error).toBe('TimeoutError');
        expect(r.cause).toBe('PrismaClientKnownRequestError');
      }
      expect(r.ms as number).toBeLessThan(6000); // the statement sleeps 10 s (or waits on a lock held for good)
      expect(r.serverClearWithin1s).toBe(true);
    });
  });

  it('the transactions rolled back, no abandonment; Prisma serves queries and disconnects (every connection back)', () => {
    expect(out().rowsCommitted).toBe(0);
    expect(run!.stderr).not.toContain('could not interrupt');
    expect(out().usable).toBe(true);
    expect(out().disconnected).toBe(true);
  });
});
