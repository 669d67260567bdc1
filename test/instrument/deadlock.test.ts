// The wait-for graph in real processes (test/fixtures/ps-deadlock.ts): two locks taken in
// opposite order and two greenlets joining each other are reported when the cycle forms,
// naming both greenlets, what they wait on and both call sites; config.deadlock 'throw'
// fails the wait that closes the cycle with a DeadlockError; a Lock whose owner died
// holding it is reported and released.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';

const source = readFileSync(fileURLToPath(new URL('../fixtures/ps-deadlock.ts', import.meta.url)), 'utf8').split('\n');
const lineOf = (text: string): number => source.findIndex((l) => l.includes(text)) + 1;

describe('deadlocks, found when they form', () => {
  it('two locks taken in opposite order: both greenlets, both locks and both call sites, within 100 ms', () => {
    const r = runFixture('ps-deadlock.ts', ['locks']);
    const j = r.json as { twoWaitsAt: number; reportedAt: number };
    expect(r.stderr).toMatch(/greenio: deadlock: 2 greenlet\(s\) wait on each other:/);
    expect(r.stderr).toMatch(/Greenlet-2 \(transferIn\) waits on <Lock 'accounts' counter=0>\n {4}at transferIn \(.*ps-deadlock\.ts:(\d+):\d+\)/);
    expect(r.stderr).toMatch(/Greenlet-1 \(transferOut\) waits on <Lock 'ledger' counter=0, 1 waiting>\n {4}at transferOut \(.*ps-deadlock\.ts:(\d+):\d+\)/);
    // The second acquire of each (inside its try block: six spaces in).
    expect(r.stderr).toContain(`ps-deadlock.ts:${lineOf('      await a.acquire();')}:`);
    expect(r.stderr).toContain(`ps-deadlock.ts:${lineOf('      await b.acquire();')}:`);
    // The cycle formed when the second greenlet began to wait.
    expect(j.reportedAt - j.twoWaitsAt).toBeGreaterThanOrEqual(0);
    expect(j.reportedAt - j.twoWaitsAt).toBeLessThan(100);
    expect(r.stderr.match(/greenio: deadlock/g)).toHaveLength(1); // reported once
  });

  it("config.deadlock = 'throw': the wait that closes the cycle fails with DeadlockError, the other then proceeds", () => {
    const r = runFixture('ps-deadlock.ts', ['locks'], { GREENIO_DEADLOCK: 'throw' });
    expect(r.json.results).toEqual(['got both', 'DeadlockError 2']);
    expect(r.stderr).toMatch(/DeadlockError thrown into Greenlet-2 \(transferIn\)/);
  });

  it('two greenlets joining each other: both named with their join sites', () => {
    const r = runFixture('ps-deadlock.ts', ['join']);
    const j = r.json as { secondJoinsAt: number; reportedAt: number };
    expect(r.stderr).toMatch(/Greenlet-2 \(waitsForFirst\) waits on join of Greenlet-1 \(waitsForSecond\)\n {4}at waitsForFirst \(.*ps-deadlock\.ts:\d+:\d+\)/);
    expect(r.stderr).toMatch(/Greenlet-1 \(waitsForSecond\) waits on join of Greenlet-2 \(waitsForFirst\)\n {4}at waitsForSecond \(.*ps-deadlock\.ts:\d+:\d+\)/);
    expect(r.stderr).toContain(`ps-deadlock.ts:${lineOf('await box.peer!.join();')}:`);
    expect(r.stderr).toContain(`ps-deadlock.ts:${lineOf('await first.join();')}:`);
    expect(j.reportedAt - j.secondJoinsAt).toBeLessThan(100);
  });

  it("config.deadlock = 'throw' on a mutual join: the second joiner gets DeadlockError", () => {
    const r = runFixture('ps-deadlock.ts', ['join'], { GREENIO_DEADLOCK: 'throw' });
    expect(r.json.results).toEqual(['DeadlockError']);
  });

  it('a Lock whose owner died holding it is reported and released: its waiter gets it', () => {
    const r = runFixture('ps-deadlock.ts', ['dead-owner']);
    expect(r.stderr).toMatch(/greenio: Greenlet-1 \(forgetsToRelease\) died holding <Lock 'cache' counter=0, 1 waiting>; released it/);
    expect(r.json.acquiredAfterOwnerDied).toBe(true);
    expect(r.json.lockedAfter).toBe(false);
  });

  it('a Lock whose owner died holding it while nobody waited is reported and released at its next acquire', () => {
    const r = runFixture('ps-deadlock.ts', ['dead-owner-unseen']);
    expect(r.json).toMatchObject({ lockedAfterOwnerDied: true, acquiredAfterOwnerDied: true, lockedAfter: false });
    expect(r.stderr).toMatch(/greenio: Greenlet-1 \(forgetsQuietly\) died holding <Lock counter=0>; released it\n/);
  });

  it("config.deadlock = 'off' reports nothing", () => {
    const r = runFixture('ps-deadlock.ts', ['locks'], { GREENIO_DEADLOCK: 'off' });
    expect(r.stderr).not.toMatch(/deadlock/);
    expect(r.json.reportedAt).toBeUndefined();
  });
});
