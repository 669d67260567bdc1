/**
 * node-redis (`redis` v5, and from client-majors/ v6 and v4) as greenlet ops, against a
 * real redis-server: a kill or timeout ends a blocking command on the server (nothing
 * taken, nothing lost), leaves the client usable with no reconnect and no leaked
 * connection, and run-info names the command. The cases run in one patched process per
 * client line (the preload; see runForLine).
 */
import { describe, expect, it } from 'vitest';
import { startRedis } from '../servers/redis.js';
import { NEXT_MAJORS, OTHER_MAJORS } from '../run-fixture.js';
import { runForLine, describeUnpatchAndOwnConnection, itDropsLateReply, redisFixtureRunner, useServer, type ClientLine } from './harness.js';

const redis = useServer(startRedis, 30_000);
const runInstalled = redisFixtureRunner('clients-redis-node.ts', () => redis().port);
// node-redis 4 is the alias `redis4` in client-majors/ (the fixture imports GREENIO_TEST_REDIS_PKG).
const LINES: ClientLine[] = [
  { name: 'node-redis 5', env: {}, version: /^5\./ },
  ...(OTHER_MAJORS
    ? [
        { name: 'node-redis 6', env: NEXT_MAJORS, version: /^6\./ },
        { name: 'node-redis 4', env: { ...NEXT_MAJORS, GREENIO_TEST_REDIS_PKG: 'redis4' }, version: /^4\./ },
      ]
    : []),
];
// Every case of a run below, in one process per plan (see runForLine); v4 has no command
// options (`withCommandOptions`), the `options` case.
const CASES = ['kill-shared', 'timeout-shared', 'race', 'closing', 'same-turn', 'late-reply', 'names', 'options', 'multi', 'own-connection', 'unpatch'];
const planOf = (line: ClientLine): { patched: string[]; unpatched: string[] } =>
  line.name === 'node-redis 4' ? { patched: CASES.filter((c) => c !== 'options'), unpatched: ['kill-shared'] } : { patched: CASES, unpatched: ['kill-shared', 'options'] };

describe.each(LINES)('$name', (line) => {
  const run = runForLine(runInstalled, line, planOf(line));

  describe('node-redis, shared client made in main', () => {
    it('a kill ends the blocked BLPOP on the server: the next job stays in the list, the client serves on', () => {
      const out = run(['kill-shared']);
      expect(out.patched).toBe(true);
      expect(out.killShared).toMatchObject({ dead: true, unblocked: true, llen: 1, usable: 'PONG' });
      expect(out.killShared!.extraConnections).toBeLessThanOrEqual(1); // at most the one side connection
      expect(out.reconnects).toBe(0);
    }, 60_000);

    it('with the integration off, the abandoned BLPOP takes the next job (what the patch prevents)', () => {
      const out = run(['kill-shared'], { GREENIO_NO_PATCH: 'redis' });
      expect(out.patched).toBe(false);
      expect(out.killShared).toMatchObject({ unblocked: false, llen: 0 });
    }, 60_000);

    it('withTimeout(500, () => client.blPop(q, 0)) throws its TimeoutError at ~500 ms and takes nothing', () => {
      const t = run(['timeout-shared']).timeoutShared!;
      expect(t).toMatchObject({ timeoutError: true, llen: 1, blocked: 0, echo: 'still here' });
      expect(t.ms as number).toBeGreaterThanOrEqual(490);
      expect(t.ms as number).toBeLessThan(3000);
    }, 60_000);

    it('an item handed to the BLPOP as the kill landed is consumed exactly once', () => {
      const race = run(['race']).race!;
      expect(race.exactlyOnce).toBe(race.n);
    }, 60_000);

    it("an item a killed consumer's BLPOP took as its finally closed the client goes back through greenio's own connection: never lost", () => {
      const c = run(['closing']).closing!;
      expect(c.exactlyOnce).toBe(c.n);
      expect(c.handedBack as number).toBeGreaterThan(0); // the race was met: the job was handed to the cancelled BLPOP
      expect(c.lost).toBe(0); // no GREENIO_REDIS_RESTORE warning
      expect(c.leaked).toBe(0); // no side or put-back connection outlives its client
    }, 60_000);

    it("a greenlet killed in the turn it sent a command leaves the client writing: the next command is answered (the turn's write is nobody's)", () => {
      expect(run(['same-turn']).sameTurn).toEqual({ dead: true, next: '1' });
    }, 60_000);

    itDropsLateReply(run);

    it('run-info names the command: redis BLPOP jobs 0', () => {
      expect(run(['names']).names!.runInfo).toMatch(/waits on: redis BLPOP jobs 0/);
    }, 60_000);

    if (line.name !== 'node-redis 4') it('a command with a timeout option, an invalid timeout and PING on a subscribed client settle as node-redis settles them', () => {
      // What node-redis gives unpatched (GREENIO_NO_PATCH=redis): the same object (a
      // subscribed PING answers 'pong' in v5, 'PONG' in v6).
      const unpatched = run(['options'], { GREENIO_NO_PATCH: 'redis' }).options;
      expect(unpatched).toMatchObject({ timed: 'v', invalid: 'RangeError', after: 'v' });
      expect(run(['options']).options).toEqual(unpatched);
    }, 60_000);

    it('a MULTI cannot be stopped on the server: it runs whole, the kill only drops its result', () => {
      expect(run(['multi']).multi).toEqual({ dead: true, pk: '2', usable: 'PONG' });
    }, 60_000);
  });

  describeUnpatchAndOwnConnection('node-redis', run);
});

