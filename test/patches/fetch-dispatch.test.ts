// A fetch (global, or npm undici's with its own Agent) is aborted through the dispatcher
// it went to, with no AbortSignal (patches/undici-dispatch.ts): killed or timed out while
// waiting for headers, reading its body, or after a redirect, the greenlet gets its error
// at once and the server sees the request closed; one killed before it went out never
// runs to its end; the dispatcher serves the next fetch. test/fixtures/fetch-dispatch.ts,
// in a process of its own per interrupt.
import { describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';
import { sharedRun } from '../shared-run.js';

type Case = { thrown: string; ms: number; dead: boolean; serverSawClose: boolean };

describe.each([
  ['kill', 'GreenletExit'],
  ['timeout', 'TimeoutError'],
] as const)('a fetch, %s', (how, errorName) => {
  const run = sharedRun(() => runFixture('fetch-dispatch.ts', [how]), 90_000);
  const j = (): Record<string, unknown> => run().json;

  it('once the global dispatcher exists, a response is aborted through its dispatcher, not a signal', () => {
    expect(run().status, run().stderr).toBe(0);
    expect(['signal', 'dispatcher']).toContain(j().firstVia); // Node 20 makes it at the first fetch
    expect(j().secondVia).toBe('dispatcher');
    expect(j().ownAgentVia).toBe('dispatcher');
  });

  it.each(['headers', 'body', 'redirect', 'ownAgent'])('%s: the greenlet gets its error at the interrupt, the server sees the request closed', (c) => {
    const r = j()[c] as Case;
    expect(r.thrown).toBe(errorName);
    expect(r.dead).toBe(true);
    expect(r.ms).toBeLessThan(2500); // interrupted at 500 ms; the server answers after 3 s
    expect(r.serverSawClose).toBe(true);
  });

  it('killed before it was dispatched: never runs to its end; the dispatcher serves the next fetch', () => {
    const b = j().beforeDispatch as { thrown: string; seen: number; closed: boolean; answered: number };
    expect(b.thrown).toBe('GreenletExit');
    expect(b.closed).toBe(true); // never sent, or closed by the client
    expect(b.answered).toBe(0);
    expect(j().after).toBe('ok');
  });
});
