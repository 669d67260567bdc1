// Leaked waiters, in a real process run with --expose-gc (test/fixtures/ps-leak.ts): a
// greenlet waiting on an Event or AsyncResult that nothing else can reach is reported once
// after the collector took it, with what it waited on and where its function is, and is
// listed in the snapshot (leaks, resources marked leaked) and in run-info; a greenlet
// waiting on an Event the program still holds is not. The same for a Lock, RLock,
// Semaphore, Queue and Channel (test/fixtures/ps-leak-locks.ts).
import { describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';
import type { PsLeak, ResourceInfo } from '../../src/index.js';

describe('leaked waiters', () => {
  it('Events and an AsyncResult nobody can reach, named or not: their waiters reported once, listed as leaked; a kept Event is not', () => {
    const r = runFixture('ps-leak.ts', [], {}, ['--expose-gc']);
    const j = r.json as {
      ids: { lost: number; lostResult: number; unnamed: number; keeper: number };
      before: number;
      reportsAtEnd: number;
      schema: string;
      leaks: PsLeak[];
      leakedResources: ResourceInfo[];
      keptListed: ResourceInfo;
      runInfoMentions: string[];
      keptResult: boolean;
      lostDead: boolean;
      unnamedReports: number;
    };
    expect(j.before).toBe(0); // nothing is called leaked while it can still be reached
    expect(r.stderr).toMatch(
      /greenio: Greenlet-1 \(waitsForever\) waits on <Event 'ready' leaked, 1 waiting> that nothing can reach any more \(leaked\), since \d+ ms, in event\.wait at .*ps-leak\.ts:\d+:\d+\n/,
    );
    expect(r.stderr).toMatch(
      /greenio: Greenlet-2 \(waitsForResult\) waits on <AsyncResult 'answer' leaked, 1 waiting> that nothing can reach any more \(leaked\), since \d+ ms, in asyncresult\.get at .*ps-leak\.ts:\d+:\d+\n/,
    );
    expect(j.reportsAtEnd).toBe(3); // once each, though the collector ran again
    expect(r.stderr).not.toMatch(/waitsOnKept.*leaked/);
    expect(j.schema).toBe('greenio.ps/3');
    expect(j.leaks.map((l) => [l.greenlet, l.kind]).sort()).toEqual([
      [j.ids.lost, 'event.wait'],
      [j.ids.lostResult, 'asyncresult.get'],
      [j.ids.unnamed, 'event.wait'],
    ].sort());
    for (const l of j.leaks) {
      expect(l.waitedMs).toBeGreaterThan(0);
      expect(l.agoMs).toBeGreaterThanOrEqual(0);
      expect(l.site).toMatch(/ps-leak\.ts:\d+:\d+$/);
    }
    expect(j.leakedResources.map((x) => [x.type, x.name, x.waiters.map((w) => w.greenlet)]).sort()).toEqual([
      ['AsyncResult', 'answer', [j.ids.lostResult]],
      ['Event', null, [j.ids.unnamed]], // (sorted as strings: 'Event,,3' first)
      ['Event', 'ready', [j.ids.lost]],
    ]);
    expect(j.keptListed).toMatchObject({ type: 'Event', leaked: false, waiters: [{ greenlet: j.ids.keeper, kind: 'event.wait' }] });
    expect(j.runInfoMentions.some((l) => /R\d+ <Event 'ready' leaked, 1 waiting> \(leaked: nothing can reach it\)/.test(l))).toBe(true);
    expect(j.runInfoMentions.some((l) => /^leaked \(found .* ago\): Greenlet-1 \(waitsForever\) waits on <Event 'ready' leaked, 1 waiting> \(event\.wait, for .* then\) at .*ps-leak\.ts/.test(l))).toBe(true);
    expect(j.keptResult).toBe(true); // the kept Event still wakes its waiter
    expect(j.lostDead).toBe(true); // a leaked waiter can still be killed
    expect(j.unnamedReports).toBe(1); // an unnamed Event is watched too, with no set-up
    expect(r.stderr).toMatch(/greenio: Greenlet-3 \(waitsUnnamed\) waits on <Event leaked, 1 waiting> that nothing can reach any more \(leaked\), since \d+ ms, in event\.wait at .*ps-leak\.ts:\d+:\d+\n/);
  }, 90_000); // the collector may need many rounds on a loaded machine (the fixture gives it 40 s)

  it('a Lock, RLock, Semaphore, Queue and Channel nobody can reach: each waiter reported once; the same kept are not', () => {
    const r = runFixture('ps-leak-locks.ts', [], {}, ['--expose-gc']);
    const j = r.json as { contended: number; before: number; reported: string[]; leakedTypes: string[]; keptDone: boolean[] };
    expect(j.contended).toBe(10); // every waiter was blocked
    expect(j.before).toBe(0); // nothing is called leaked while it can still be reached
    expect(j.reported).toEqual(['channelWaiterLost', 'lockWaiterLost', 'queueWaiterLost', 'rlockWaiterLost', 'semWaiterLost']);
    expect(j.leakedTypes).toEqual(['Channel', 'Lock', 'Queue', 'RLock', 'Semaphore']);
    expect(r.stderr).toMatch(/greenio: Greenlet-2 \(lockWaiterLost\) waits on <Lock leaked, 1 waiting> that nothing can reach any more \(leaked\), since \d+ ms, in semaphore\.acquire at .*ps-leak-locks\.ts:\d+:\d+\n/);
    expect(r.stderr).toMatch(/\(queueWaiterLost\) waits on <Queue leaked, 1 waiting> .* in queue\.get at /);
    expect(r.stderr).not.toMatch(/Kept\) waits on .* leaked/);
    expect(j.keptDone).toEqual([true, true, true]); // the kept ones still wake their waiters
  }, 90_000);
});
