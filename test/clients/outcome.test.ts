// What an interrupted client op's end says, against real servers (PostgreSQL, Redis):
// its outcome on `greenio:io:end`, and what the server did meanwhile (a MULTI or pipeline
// runs whole); the user's context inside the client's own machinery; a greenlet dying in
// the turn it issued a node-redis command.
import { beforeAll, describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';
import { useServer } from './harness.js';
import { startPostgres } from '../servers/postgres.js';
import { startRedis } from '../servers/redis.js';

const postgres = useServer(startPostgres, 60_000);
const redis = useServer(startRedis, 30_000);

type End = { kind: string; detail: string; outcome: string; note?: string };
const out: Record<string, Record<string, unknown>> = {};
beforeAll(() => {
  const env = { PGHOST: postgres().host, PGPORT: String(postgres().port), REDIS_PORT: String(redis().port) };
  const r = runFixture('clients-outcome.ts', [], env);
  expect(r.status, r.stderr).toBe(0);
  Object.assign(out, r.json);
}, 90_000);

const one = (ends: unknown): End => {
  expect(ends as End[]).toHaveLength(1);
  return (ends as End[])[0]!;
};

describe('pg: the end of a killed query', () => {
  it('sent behind another on a pipelined client (a cancel request cannot aim at one query): killed, and the client answers after it', () => {
    const e = one(out.pgPipelined!.ends);
    expect(e.outcome).toBe('killed');
    expect(out.pgPipelined!.nextAnswered).toBe(true);
  });

  it('on a plain client (cancelled on the server): killed, and the client answers', () => {
    const e = one(out.pgPlain!.ends);
    expect(e.outcome).toBe('killed');
    expect(out.pgPlain!.nextAnswered).toBe(true);
  });
});

describe.each(['nodeRedis', 'ioredis'])('%s: the end of a killed MULTI or pipeline', (lib) => {
  it('ends killed, and ran whole on the server (the SET inside landed)', () => {
    const r = out[lib]!;
    const multi = one(r.multi);
    expect(multi.outcome).toBe('killed');
    const pipe = one(r.pipeline);
    expect(pipe.outcome).toBe('killed');
    expect(r.multiLanded).toBe('landed');
    expect(r.pipelineLanded).toBe('landed');
  });
});

describe('ioredis: the end of a killed BLPOP', () => {
  it('ends killed (CLIENT UNBLOCK ended it on the server)', () => {
    const e = one(out.ioredis!.blpop);
    expect(e.outcome).toBe('killed');
  });
});

describe("the client's own machinery, run outside the greenlet", () => {
  it("still sees the caller's AsyncLocalStorage stores (node-redis's tracing channel gets the caller's context)", () => {
    expect(out.userContext).toEqual(['request-7']);
  });
});

describe('node-redis: a greenlet that dies in the turn it issued a command', () => {
  it("leaves the client writing: the write node-redis scheduled is the client's (the next command is answered)", () => {
    expect(out.afterDeath).toBe('PONG');
  });
});
