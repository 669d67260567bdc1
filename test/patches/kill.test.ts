import { describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';

// Each case: a greenlet blocked in real IO is killed (or its Timeout fires); it must
// throw, run its finally, die, and leave no socket, timer, child or fd behind.
const CASES = ['file', 'fileCallback', 'fifo', 'tcp', 'dns', 'fetch', 'http', 'interval', 'child'] as const;
const WHAT: Record<(typeof CASES)[number], string> = {
  file: 'reading a 256 MiB file (fs.promises.readFile)',
  fileCallback: 'reading a 256 MiB file (fs.readFile callback)',
  fifo: 'opening a FIFO nobody writes to',
  tcp: 'connected to a silent TCP server on 127.0.0.1',
  dns: 'awaiting a DNS answer that never comes',
  fetch: 'in a fetch() to a local server that never answers',
  http: 'in an http.get() to a local server that never answers',
  interval: 'with a setInterval running',
  child: "waiting for child_process.spawn('sleep', ['30'])",
};

for (const how of ['kill', 'timeout'] as const) {
  describe(`${how === 'kill' ? 'kill' : 'Timeout'} of a greenlet blocked in real IO (own process)`, () => {
    const run = runFixture('patch-kill.ts', [how, ...CASES]);
    it('the fixture ran', () => {
      expect(run.status, run.stderr).toBe(0);
    });
    for (const c of CASES) {
      it(`${WHAT[c]}: throws ${how === 'kill' ? 'GreenletExit' : 'TimeoutError'}, runs finally, leaves nothing open`, () => {
        const r = run.json[c] as Record<string, unknown>;
        expect(r).toMatchObject({
          thrown: how === 'kill' ? 'GreenletExit' : 'TimeoutError',
          finallyRan: true,
          dead: true,
          fdLeak: 0,
          left: [],
          childAlive: false,
        });
        // The interrupt lands at once (a kill) or when the Timeout fires, never later.
        expect(r.settleMs as number).toBeLessThan(how === 'kill' ? 500 : 1500);
      });
    }
  });
}
