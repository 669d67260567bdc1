// What an interrupted client op's end says, against real servers (PostgreSQL, Redis):
// where the server cannot be told to stop (a pipelined pg client, a Redis MULTI or
// pipeline), the end event (`greenio:io:end`, and the traces built on it) carries the
// outcome and a note saying so; where it was stopped on the server, no note. Also: the
// user's context inside the client's own machinery, and a greenlet dying in the turn it
// issued a node-redis command.
import { describe, expect, it } from 'vitest';
import { sharedRun } from '../shared-run.js';
import { runFixture } from '../run-fixture.js';
import { useServer } from './harness.js';
import { startPostgres } from '../servers/postgres.js';
import { startRedis } from '../servers/redis.js';

const postgres = useServer(startPostgres, 60_000);
const redis = useServer(startRedis, 30_000);

type End = { kind: string; detail: string; outcome: string; note?: string };
const out: Record<string, Record<string, unknown>> = {};
sharedRun(() => {
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
  it('sent behind another on a pipelined client (a cancel request cannot aim at one query): killed, "not cancelled on the server", and the client answers after it', () => {
    const e = one(out.pgPipelined!.ends);
    expect(e.outcome).toBe('killed');
    expect(e.note).toBe('not cancelled on the server: the client pipelines its queries');
    expect(out.pgPipelined!.nextAnswered).toBe(true);
  });

  it('on a plain client (cancelled on the server): killed, with no note', () => {
    const e = one(out.pgPlain!.ends);
    expect(e.outcome).toBe('killed');
    expect(e.note).toBeUndefined();
    expect(out.pgPlain!.nextAnswered).toBe(true);
  });
});

describe.each(['nodeRedis', 'ioredis'])('%s: the end of a killed MULTI or pipeline', (lib) => {
  it('says it ran whole on the server, and it did (the SET inside landed)', () => {
    const r = out[lib]!;
    const multi = one(r.multi);
    expect(multi.outcome).toBe('killed');
    expect(multi.note).toBe('not cancelled on the server: a MULTI runs whole (its result is dropped)');
    const pipe = one(r.pipeline);
    expect(pipe.outcome).toBe('killed');
    expect(pipe.note).toBe('not cancelled on the server: a pipeline runs whole (its result is dropped)');
    expect(r.multiLanded).toBe('landed');
    expect(r.pipelineLanded).toBe('landed');
  });
});

describe('ioredis: the end of a killed BLPOP', () => {
  it('is killed with no note: CLIENT UNBLOCK ended it on the server', () => {
    const e = one(out.ioredis!.blpop);
    expect(e.outcome).toBe('killed');
    expect(e.note).toBeUndefined();
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
