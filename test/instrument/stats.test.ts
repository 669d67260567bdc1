import { describe, expect, it } from 'vitest';
import { sharedRun } from '../shared-run.js';
import { Queue, joinAll, sleep, spawn } from '../../src/index.js';
import { stats } from '../../src/instrument/stats.js';
import { runFixture, type FixtureRun } from '../run-fixture.js';

describe('stats() against a scripted workload (3 greenlets x 2 file reads + 1 sleep of 50 ms)', () => {
  let run: FixtureRun;
  let s: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- parsed JSON
  sharedRun(() => {
    run = runFixture('instrument-workload.ts');
    s = run.json.stats as Record<string, unknown>;
  }, 30_000);

  it('counts greenlets: 3 spawned, 3 finished, none alive, a peak of 3', () => {
    expect(run.status, run.stderr).toBe(0);
    expect(s.greenlets).toEqual({ alive: 0, peak: 3, finished: 3, spawned: 3 });
  });

  it('counts each kind exactly: 6 fs.readFile, 3 sleep, 1 joinAll, 1 fs.readFileSync', () => {
    expect(Object.keys(s.io).sort()).toEqual(['fs.readFile', 'fs.readFileSync', 'joinAll', 'sleep']);
    expect(s.io['fs.readFile'].count).toBe(6);
    expect(s.io.sleep.count).toBe(3);
    expect(s.io.joinAll.count).toBe(1);
    expect(s.io['fs.readFileSync'].count).toBe(1);
    expect(s.total.count).toBe(11);
    expect(s.syncCalls.count).toBe(1);
  });

  it('reports total, average and longest wait, and nothing left in flight', () => {
    const sleep = s.io.sleep;
    expect(sleep.avgMs).toBeGreaterThanOrEqual(45);
    expect(sleep.avgMs).toBeLessThan(1000);
    expect(sleep.totalMs).toBeCloseTo(sleep.avgMs * 3, 6);
    expect(sleep.maxMs).toBeGreaterThanOrEqual(sleep.avgMs);
    const reads = s.io['fs.readFile'];
    expect(reads.totalMs).toBeGreaterThan(0);
    expect(reads.totalMs).toBeLessThan(5000);
    expect(reads.maxMs).toBeLessThanOrEqual(reads.totalMs);
    for (const k of Object.values(s.io) as Array<{ active: number; dropped: number }>) expect([k.active, k.dropped]).toEqual([0, 0]);
  });

  it('perGreenlet(g) breaks the same figures down per greenlet', () => {
    const per = run.json.perGreenlet as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(per.map((p) => [p.name, p.fn, p.state])).toEqual([
      ['reader-1', 'reader', 'dead'],
      ['reader-2', 'reader', 'dead'],
      ['reader-3', 'reader', 'dead'],
    ]);
    for (const p of per) {
      expect(p.io['fs.readFile'].count).toBe(2);
      expect(p.io.sleep.count).toBe(1);
      expect(p.io.sleep.totalMs).toBeGreaterThanOrEqual(45);
    }
    expect(per.map((p) => p.count)).toEqual([3, 4, 3]);
    expect(per.map((p) => p.syncCalls.count)).toEqual([0, 1, 0]);
    // The per-greenlet figures add up to the totals (main's joinAll aside).
    const readMs = per.reduce((t, p) => t + p.io['fs.readFile'].totalMs, 0);
    expect(readMs).toBeCloseTo(s.io['fs.readFile'].totalMs, 6);
  });

  it('perGreenlet() lists main and the live greenlets (none left alive here)', () => {
    expect(run.json.perGreenletLive).toEqual(['main']);
  });
});

describe('stats() in process', () => {
  it('is a snapshot: later waits do not change an earlier one', async () => {
    const before = stats();
    const q = new Queue<number>();
    const getters = [spawn(() => q.get()), spawn(() => q.get())];
    await sleep(5);
    const during = stats();
    expect(during.greenlets.alive).toBe(before.greenlets.alive + 2);
    expect(during.io['queue.get']?.active).toBe(2);
    q.put(1);
    q.put(2);
    await joinAll(getters);
    const after = stats();
    expect(after.io['queue.get']?.count).toBe((before.io['queue.get']?.count ?? 0) + 2);
    expect(after.io['queue.get']?.active).toBe(0);
    expect(during.io['queue.get']?.active).toBe(2);
    expect(after.greenlets.finished).toBe(before.greenlets.finished + 2);
    expect(after.greenlets.peak).toBeGreaterThanOrEqual(2);
  });

  it('perGreenlet(g) works for a live greenlet, and while it waits', async () => {
    const g = spawn(async function napper() {
      await sleep(10);
      await sleep(200);
    });
    await sleep(50);
    const p = stats().perGreenlet(g);
    expect(p).toMatchObject({ id: g.id, name: g.name, fn: 'napper', state: 'running', count: 1 });
    expect(p.io.sleep!.count).toBe(1);
    expect(stats().perGreenlet().map((x) => x.id)).toContain(g.id);
    await g.kill();
    expect(stats().perGreenlet(g).state).toBe('dead');
  });

  it('perGreenlet() throws a TypeError for something that is not a greenlet', () => {
    expect(() => stats().perGreenlet({} as never)).toThrow(/Expected `greenlet` to be a Greenlet, got `\{\}` \(object\)/);
  });
});
