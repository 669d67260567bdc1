// mysql2 writes each packet with a callback; under patchAll() those writes are part of
// the query's op, not `net write` ops of their own (patches/net.ts kClientWrites), while
// any other socket's write with a callback stays an op. Against a real MariaDB started for
// this file; the fixture (clients-mysql2-writes.ts) runs in a patched process of its own.
import { expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';
import { useServer } from './harness.js';
import { startMariaDB } from '../servers/mariadb.js';

const server = useServer(startMariaDB, 60_000);

it('80 queries over a pool and a shared connection start no `net write` op; a plain socket\'s write still does', () => {
  const r = runFixture('clients-mysql2-writes.ts', [], { MYHOST: server().host, MYPORT: String(server().port) });
  expect(r.status, r.stderr).toBe(0);
  expect(r.json).toEqual({ right: 80, queries: 80, mysqlWrites: 0, plainWrites: 1 });
}, 90_000);
