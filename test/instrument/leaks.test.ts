// Leaked waiters, in a real process run with --expose-gc (test/fixtures/ps-leak.ts): a
// greenlet waiting on an Event or AsyncResult that nothing else can reach is reported once
// after the collector took it, with what it waited on and where its function is, and is
// listed in the snapshot (leaks, resources marked leaked) and in run-info; a greenlet
// waiting on an Event the program still holds is not.
import { describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';
import type { PsLeak, ResourceInfo } from '../../src/index.js';

describe('leaked waiters', () => {
  it('an Event and an AsyncResult nobody can reach: their waiters reported once, listed as leaked; a kept Event is not', () => {
    const r = runFixture('ps-leak.ts', [], {}, ['--expose-gc']);
    const j = r.json as {
      ids: { lost: number; lostResult: number; keeper: number };
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
    expect(j.reportsAtEnd).toBe(2); // once each, though the collector ran again (the unnamed Event is not watched)
    expect(r.stderr).not.toMatch(/waitsOnKept.*leaked/);
    expect(j.schema).toBe('greenio.ps/3');
    expect(j.leaks.map((l) => [l.greenlet, l.kind]).sort()).toEqual([
      [j.ids.lost, 'event.wait'],
      [j.ids.lostResult, 'asyncresult.get'],
    ].sort());
    for (const l of j.leaks) {
      expect(l.waitedMs).toBeGreaterThan(0);
      expect(l.agoMs).toBeGreaterThanOrEqual(0);
      expect(l.site).toMatch(/ps-leak\.ts:\d+:\d+$/);
    }
    expect(j.leakedResources.map((x) => [x.type, x.name, x.waiters.map((w) => w.greenlet)]).sort()).toEqual([
      ['AsyncResult', 'answer', [j.ids.lostResult]],
      ['Event', 'ready', [j.ids.lost]],
    ]);
    expect(j.keptListed).toMatchObject({ type: 'Event', leaked: false, waiters: [{ greenlet: j.ids.keeper, kind: 'event.wait' }] });
    expect(j.runInfoMentions.some((l) => /R\d+ <Event 'ready' leaked, 1 waiting> \(leaked: nothing can reach it\)/.test(l))).toBe(true);
    expect(j.runInfoMentions.some((l) => /^leaked \(found .* ago\): Greenlet-1 \(waitsForever\) waits on <Event 'ready' leaked, 1 waiting> \(event\.wait, for .* then\) at .*ps-leak\.ts/.test(l))).toBe(true);
    expect(j.keptResult).toBe(true); // the kept Event still wakes its waiter
    expect(j.lostDead).toBe(true); // a leaked waiter can still be killed
    expect(j.unnamedReports).toBe(0); // an unnamed Event is not watched by default (it costs ~1 µs a primitive)
  }, 90_000); // the collector may need many rounds on a loaded machine (the fixture gives it 40 s)

  it('with GREENIO_TRACK_GREENLET_TREE=1 an unnamed Event is watched too', () => {
    const r = runFixture('ps-leak.ts', [], { GREENIO_TRACK_GREENLET_TREE: '1' }, ['--expose-gc']);
    expect(r.json.unnamedReports).toBe(1);
    expect(r.json.reportsAtEnd).toBe(3);
    expect(r.stderr).toMatch(/greenio: Greenlet-3 \(waitsUnnamed\) waits on <Event leaked, 1 waiting> that nothing can reach any more \(leaked\), since \d+ ms, in event\.wait at .*ps-leak\.ts:\d+:\d+\n/);
  }, 90_000);
});
