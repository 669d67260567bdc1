/**
 * ioredis (v5, and v6 from client-majors/) as greenlet ops, against a real redis-server: a
 * kill or timeout ends a blocking command on the server (nothing taken, nothing lost),
 * leaves the client usable with no reconnect and no leaked connection, and run-info names
 * the command. The cases run in one patched process per major (the preload, as `node
 * --import greenio/patch`; see runForLine), through ES-module `import`, and once more
 * through CommonJS `require`.
 */
import { describe, expect, it } from 'vitest';
import { NEXT_MAJORS, OTHER_MAJORS, runFixture } from '../run-fixture.js';
import { startRedis } from '../servers/redis.js';
import { runForLine, preload, type ClientLine, describeUnpatchAndOwnConnection, itDropsLateReply, redisFixtureRunner, useServer } from './harness.js';

const redis = useServer(startRedis, 30_000);
const runInstalled = redisFixtureRunner('clients-redis-ioredis.ts', () => redis().port);
const LINES: ClientLine[] = [
  { name: 'ioredis 5', env: {}, version: /^5\./ },
  ...(OTHER_MAJORS ? [{ name: 'ioredis 6', env: NEXT_MAJORS, version: /^6\./ }] : []),
];
// Every case of a run below, in one process per plan (see runForLine).
const PLAN = {
  patched: ['kill-shared', 'timeout-shared', 'own-connection', 'race', 'late-reply', 'callback', 'names', 'pipeline', 'transform', 'unpatch'],
  unpatched: ['kill-shared'],
};

describe.each(LINES)('$name', (line) => {
  const run = runForLine(runInstalled, line, PLAN);

  describe('ioredis, shared client made in main', () => {
    it('a kill ends the blocked BLPOP on the server: the next job stays in the list, the client serves on', () => {
      const out = run(['kill-shared']);
      expect(out.patched).toBe(true);
      const k = out.killShared!;
      expect(k.outcome).toBe('dead');
      expect(k.unblocked).toBe(true); // blocked_clients:0 within 1 s of the kill
      expect(k.llen).toBe(1); // the job pushed after the kill was taken by nobody
      expect(k.usable).toBe('PONG');
      expect(k.extraConnections).toBeLessThanOrEqual(1); // at most the one side connection
      expect(out.reconnects).toBe(0);
    }, 60_000);

    it('with the integration off, the abandoned BLPOP takes the next job (what the patch prevents)', () => {
      const out = run(['kill-shared'], { GREENIO_NO_PATCH: 'ioredis' });
      expect(out.patched).toBe(false);
      expect(out.killShared!.unblocked).toBe(false);
      expect(out.killShared!.llen).toBe(0);
    }, 60_000);

    it('withTimeout(500, () => client.blpop(q, 0)) throws its TimeoutError at ~500 ms and takes nothing', () => {
      const t = run(['timeout-shared']).timeoutShared!;
      expect(t.timeoutError).toBe(true);
      expect(t.ms as number).toBeGreaterThanOrEqual(490);
      expect(t.ms as number).toBeLessThan(3000);
      expect(t.llen).toBe(1);
      expect(t.blocked).toBe(0);
      expect(t.echo).toBe('still here');
    }, 60_000);

    it('an item the server handed to the BLPOP as the kill landed is consumed exactly once (put back if its greenlet died)', () => {
      const race = run(['race']).race!;
      expect(race.exactlyOnce).toBe(race.n);
      expect(race.putBack).toBe(10); // every case where the reply was held back until after the kill
    }, 60_000);

    itDropsLateReply(run);

    it('a callback-style command of a killed greenlet calls back once, with the kill', () => {
      expect(run(['callback']).callback).toEqual({ calls: 1, error: 'GreenletExit' });
    }, 60_000);

    it('run-info, the trace and stats name the command: redis BLPOP jobs 0', () => {
      const n = run(['names']).names!;
      expect(n.runInfo).toMatch(/waits on: redis BLPOP jobs 0/);
      expect(n.trace).toContain('BLPOP jobs 0');
      expect(n.statsKinds).toEqual(['redis']);
    }, 60_000);

    it("a greenlet's command gets ioredis's own transformed reply, and a reply transformer's error", () => {
      expect(run(['transform']).transform).toEqual({ hash: { a: '1', b: '2' }, good: '<good>', bad: 'transform failed', after: 'PONG' });
    }, 60_000);

    it('a MULTI cannot be stopped on the server: it runs whole, the kill only drops its result', () => {
      const p = run(['pipeline']).pipeline!;
      expect(p.dead).toBe(true);
      expect(p.pk).toBe('2');
      expect(p.usable).toBe('PONG');
    }, 60_000);
  });

  describeUnpatchAndOwnConnection('ioredis', run);

  describe('ioredis loaded by CommonJS require', () => {
    it('is patched the same way', () => {
      const r = runFixture('clients-redis-ioredis-cjs.cjs', [String(redis().port)], line.env, preload);
      expect(r.status, r.stderr).toBe(0);
      expect(r.json.version).toMatch(line.version);
      expect(r.json).toMatchObject({ patched: true, afterKill: 0, timedOut: true, llen: 1, blocked: 0, usable: 'PONG' });
      expect(r.json.ms as number).toBeGreaterThanOrEqual(290);
    }, 60_000);
  });
});
