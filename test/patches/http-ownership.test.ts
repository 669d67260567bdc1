import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';

// An HTTP request belongs to the greenlet that makes it, whoever opened the connection;
// an idle keep-alive connection belongs to nobody. Global fetch, http.get with a
// keep-alive Agent, and axios, in a process started patched, against a real server.
const preload = fileURLToPath(new URL('../../src/patch.ts', import.meta.url));

describe('HTTP requests owned by the request (own process)', () => {
  const r = runFixture('http-ownership.ts', [], {}, ['--import', preload]);
  const j = r.json as Record<string, Record<string, unknown>>;

  it('runs, and no timeout or kill had to abandon a request', () => {
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/could not interrupt/);
  });

  describe.each([['fetch', 'fetch'], ['http', 'http.request']])('%s', (client, kind) => {
    it('20 slow pages on keep-alive connections opened by other greenlets all time out at ~1 s, each aborted at the server', () => {
      const s = j[`${client} slow20`]!;
      expect(s.connsBefore as number).toBeGreaterThanOrEqual(20);
      expect(s.openedDuring).toBe(0); // every request reused another greenlet's connection
      expect(s.got).toEqual(['TimeoutError']);
      expect(s.minMs).toBeGreaterThanOrEqual(950);
      expect(s.maxMs).toBeLessThan(2500); // the server answers after 3 s
      expect(s.closedEarly).toBe(20);
    });

    it(`run-info names each request (${kind} GET http://127.0.0.1:<port>/...), query values redacted`, () => {
      expect(j[`${client} slow20`]!.named).toBe(20);
      expect(j[`${client} slow20`]!.secretShown).toBe(false);
    });

    it('killing the idle greenlets that opened the connections breaks no later request', () => {
      expect(j[`${client} slow20`]!.afterIdleKill).toBe('ok');
    });

    it('B times out; C, idle, owns no socket; killing C leaves a request in main working', () => {
      expect(j[`${client} idleKill`]).toEqual({ b: 'TimeoutError', main: 'ok', cOwnsSocket: false });
    });
  });

  it.each(['axios', 'fetch with its own signal', 'fetch of a Request'].flatMap((c) => [[c, 'timeout'], [c, 'kill']]))('%s under a %s: the request is aborted at the server, on time', (call, how) => {
    const a = j[`${call} ${how}`]!;
    expect(a.dead).toBe(true);
    expect(a.serverSawClose).toBe(true);
    expect(a.ms).toBeLessThan(2500);
    if (call !== 'axios') expect(a.thrown).toBe(how === 'timeout' ? 'TimeoutError' : 'GreenletExit');
  });

  it("a fetch's own signal still aborts it", () => {
    expect(j.ownSignal).toBe('AbortError');
  });

  it('leaves no socket once the agent and the server are closed', () => {
    expect(j.socketsLeft).toBe(0);
  });
});
