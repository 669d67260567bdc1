import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NEXT_MAJORS, OTHER_MAJORS, runFixture } from '../run-fixture.js';

// npm undici under the patch, in processes of their own: loaded by an ES-module import
// with the patch preloaded (require-in-the-middle sees only undici's inner files), and by
// require() after patchAll(). Real server on 127.0.0.1: test/fixtures/http-server.ts.
const preload = fileURLToPath(new URL('../../src/patch.ts', import.meta.url));
const APIS = ['request', 'fetch', 'stream', 'pipeline', 'Pool.request', 'Client.request', 'Agent dispatcher', 'compose(redirect)'];

// Each for the installed undici 7 and for undici 8 (client-majors/, see test/run-fixture.ts),
// which needs Node >= 22.19 (not under load: see OTHER_MAJORS).
const [maj, min] = process.versions.node.split('.').map(Number) as [number, number];
const MAJORS = [['undici 7', {}, /^7\./], ...(OTHER_MAJORS && (maj > 22 || (maj === 22 && min >= 19)) ? [['undici 8', NEXT_MAJORS, /^8\./] as const] : [])] as const;

for (const [major, env, version] of MAJORS) for (const [how, run] of [
  ['import { request } from \'undici\' (preloaded patch)', () => runFixture('http-undici.ts', [], env, ['--import', preload])],
  ['require(\'undici\') after patchAll()', () => runFixture('http-undici-cjs.ts', [], env)],
] as const) {
  describe(`${major} loaded by ${how}`, () => {
    const r = run();
    const j = r.json as Record<string, Record<string, unknown>>;

    it('runs, and no timeout or kill had to abandon an undici request', () => {
      expect(r.status, r.stderr).toBe(0);
      expect(r.json.version).toMatch(version);
      expect(r.stderr).not.toMatch(/could not interrupt/);
    });

    it('20 slow pages on keep-alive connections opened by other greenlets all time out at ~1 s, each aborted at the server', () => {
      const s = j.slow20!;
      expect(s.connsBefore).toBe(20);
      expect(s.openedDuring).toBe(0); // every request reused another greenlet's connection
      expect(s.got).toEqual(['TimeoutError']);
      expect(s.minMs).toBeGreaterThanOrEqual(950);
      expect(s.maxMs).toBeLessThan(2500); // the server answers after 3 s
      expect(s.closedEarly).toBe(20);
    });

    it('run-info names each request with method, origin and port, query values redacted', () => {
      expect(j.slow20!.named).toBe(20);
      expect(j.slow20!.secretShown).toBe(false);
    });

    it('killing the idle greenlets that opened the connections breaks no later request', () => {
      expect(j.afterIdleKill).toBe('ok');
    });

    it.each(APIS.flatMap((api) => [[api, 'timeout'], [api, 'kill']]))('%s under a %s: the greenlet gets the interrupt on time and the server sees the request aborted', (api, kind) => {
      const a = (j.apis as Record<string, { thrown: string; ms: number; dead: boolean; serverSawClose: boolean }>)[`${api} ${kind}`]!;
      expect(a.thrown).toBe(kind === 'timeout' ? 'TimeoutError' : 'GreenletExit');
      expect(a.dead).toBe(true);
      expect(a.ms).toBeLessThan(2500);
      expect(a.serverSawClose).toBe(true);
    });

    it('a request queued behind a busy connection times out on time; the request holding it is not disturbed', () => {
      expect(j.queued).toMatchObject({ got: 'TimeoutError', holder: 'ok' });
      expect(j.queued!.ms as unknown as number).toBeLessThan(900); // its own timeout is 300 ms, the holder's page takes 1 s
    });

    it('leaves no socket once the dispatchers are closed', () => {
      expect(j.socketsLeft).toBe(0);
    });
  });
}

describe('patching and unpatching around HTTP clients (own process)', () => {
  const r = runFixture('http-identity.ts');
  const j = r.json as { bodyBeforeFetch: boolean; wrapped: boolean[]; restored: boolean[]; fetchRestored: boolean; withUndiciOff: Record<string, boolean> };

  it('wraps Response bodies on the first response, not before', () => {
    expect(r.status, r.stderr).toBe(0);
    expect(j.bodyBeforeFetch).toBe(false);
    expect(j.wrapped).toEqual([true, true, true, true, true, true, true]);
  });

  it("unpatchAll() restores the exact originals: undici's dispatch, compose, fetch; global fetch; both Response classes' bodies", () => {
    expect(j.restored).toEqual([true, true, true, true, true, true, true]);
    expect(j.fetchRestored).toBe(true);
  });

  it('patchAll({ undici: false }) leaves undici alone, and patches the rest', () => {
    expect(j.withUndiciOff).toEqual({ dispatch: false, fetch: true });
  });
});
