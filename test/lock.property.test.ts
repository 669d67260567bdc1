// Property: whatever the interleaving of acquirers, holders, kills and timeouts, a
// semaphore never admits more than its permits at once, and once everything has settled
// its counter is back to its start with no waiter left registered. Sizes and delays are
// kept small so 100 runs of each property finish in seconds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedSemaphore } from '../src/lock.js';
import { Semaphore } from '../src/semaphore.js';
import { RLock } from '../src/rlock.js';
import { spawn, type Greenlet } from '../src/greenlet.js';
import * as hub from '../src/hub/index.js';
import { sleep } from '../src/sleep.js';
import { withTimeout } from '../src/with-timeout.js';
import { joinAll } from '../src/wait.js';

/** How one cycle acquires: plainly, with its own timeout, or under an outer `withTimeout`. */
type Mode = { how: 'plain' } | { how: 'own'; ms: number } | { how: 'outer'; ms: number };
interface Cycle {
  mode: Mode;
  /** Time held: 0 is `sleep(0)`, -1 holds without yielding. */
  hold: number;
}
interface Kill {
  /** When main kills, in ms after the workers were spawned. */
  at: number;
  target: number;
  block: boolean;
}

const mode: fc.Arbitrary<Mode> = fc.oneof(
  fc.constant<Mode>({ how: 'plain' }),
  fc.integer({ min: 0, max: 4 }).map<Mode>((ms) => ({ how: 'own', ms })),
  fc.integer({ min: 0, max: 4 }).map<Mode>((ms) => ({ how: 'outer', ms })),
);
const cycle: fc.Arbitrary<Cycle> = fc.record({ mode, hold: fc.integer({ min: -1, max: 3 }) });
const worker = fc.array(cycle, { minLength: 1, maxLength: 4 });
const scenario = fc.record({
  permits: fc.integer({ min: 1, max: 4 }),
  bounded: fc.boolean(),
  workers: fc.array(worker, { minLength: 1, maxLength: 12 }),
  kills: fc.array(fc.record({ at: fc.integer({ min: 0, max: 6 }), target: fc.nat(), block: fc.boolean() }), { maxLength: 6 }),
});

// By name: a counting semaphore's acquire has a kind of its own with the same name (lock-base.ts).
const acquireOps = 'semaphore.acquire';
/** Acquire waits active now, the two kinds' totals summed as stats and ps see them. */
const activeAcquires = (): number => hub.allKinds().find((k) => k.name === acquireOps)?.active ?? 0;

/** Acquire `lock` as `m` says; true once held. */
async function take(lock: Semaphore | RLock, m: Mode): Promise<boolean> {
  if (m.how === 'own') return lock.acquire({ timeout: m.ms });
  if (m.how === 'outer') return withTimeout(m.ms, () => lock.acquire(), { timeoutValue: false });
  return lock.acquire();
}

async function hold(ms: number): Promise<void> {
  if (ms >= 0) await sleep(ms);
}

/** Waiters the lock lists now (from its run-info text). */
function listed(lock: Semaphore | RLock): number {
  return Number(/(\d+) waiting/.exec(String(lock))?.[1] ?? 0);
}

/** Greenlets blocked in an acquire now, as the hub sees them. */
function blocked(gs: Greenlet[]): number {
  return gs.filter((g) => hub.opsOf(g).some((op) => op.kind.name === acquireOps && !op.settled)).length;
}

/**
 * Main's side: kill the chosen workers at the chosen times, in time order; at every
 * step the lock lists exactly the greenlets blocked in acquire (none left behind).
 */
async function runKills(lock: Semaphore | RLock, gs: Greenlet[], kills: Kill[]): Promise<void> {
  let now = 0;
  for (const k of [...kills].sort((a, b) => a.at - b.at)) {
    if (k.at > now) await sleep(k.at - now);
    now = k.at;
    expect(listed(lock)).toBe(blocked(gs));
    const g = gs[k.target % gs.length]!;
    if (k.block) await g.kill();
    else void g.kill(undefined, { block: false });
    expect(listed(lock)).toBe(blocked(gs));
  }
}

describe('Semaphore under random interleavings, kills and timeouts', () => {
  it('never admits more than its permits; settles back to its start with no waiter left', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ permits, bounded, workers, kills }) => {
        const sem = bounded ? new BoundedSemaphore(permits) : new Semaphore(permits);
        let holders = 0;
        let most = 0;
        let granted = 0;
        const gs = workers.map((cycles) =>
          spawn(async () => {
            for (const c of cycles) {
              if (!(await take(sem, c.mode))) continue;
              granted++;
              most = Math.max(most, ++holders);
              try {
                await hold(c.hold);
              } finally {
                holders--;
                sem.release();
              }
            }
          }),
        );
        await runKills(sem, gs, kills);
        await joinAll(gs);
        // A BoundedSemaphore throws on over-release: every worker must end cleanly.
        expect(gs.every((g) => g.successful())).toBe(true);
        expect(most).toBeLessThanOrEqual(permits);
        expect(holders).toBe(0);
        expect(sem.counter).toBe(permits);
        expect(String(sem)).not.toMatch(/waiting/);
        expect(activeAcquires()).toBe(0);
        // With no kill and no timeout, every cycle gets its permit.
        if (kills.length === 0 && workers.every((w) => w.every((c) => c.mode.how === 'plain'))) {
          expect(granted).toBe(workers.reduce((n, w) => n + w.length, 0));
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('RLock under random interleavings, kills and timeouts', () => {
  it('has at most one owner; settles free with no waiter left', async () => {
    const rlockWorker = fc.array(fc.record({ mode, hold: fc.integer({ min: -1, max: 2 }), depth: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 3 });
    const rlockScenario = fc.record({
      workers: fc.array(rlockWorker, { minLength: 1, maxLength: 8 }),
      kills: fc.array(fc.record({ at: fc.integer({ min: 0, max: 5 }), target: fc.nat(), block: fc.boolean() }), { maxLength: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(rlockScenario, async ({ workers, kills }) => {
        const lock = new RLock();
        let inside = 0;
        let most = 0;
        const gs = workers.map((cycles) =>
          spawn(async () => {
            for (const c of cycles) {
              if (!(await take(lock, c.mode))) continue;
              most = Math.max(most, ++inside);
              let held = 1;
              try {
                // Re-enter depth - 1 more times: never blocks for the owner.
                for (; held < c.depth; held++) expect(await lock.acquire({ block: false })).toBe(true);
                expect(lock.count).toBe(held);
                await hold(c.hold);
              } finally {
                inside--;
                for (; held > 0; held--) lock.release();
              }
            }
          }),
        );
        await runKills(lock, gs, kills);
        await joinAll(gs);
        expect(gs.every((g) => g.successful())).toBe(true);
        expect(most).toBeLessThanOrEqual(1);
        expect([lock.locked(), lock.owner, lock.count]).toEqual([false, null, 0]);
        expect(String(lock)).toBe('<RLock free>');
        expect(activeAcquires()).toBe(0);
      }),
      { numRuns: 100 },
    );
  });
});
