// Properties: whatever the capacity, task durations and failures, and whatever kills and
// timeouts hit the greenlets waiting in `pool.spawn` and the members themselves, a pool
// never runs more than its capacity at once, every task is accounted for (finished,
// failed or killed: none lost, none run twice, none run after its spawn was abandoned),
// and once everything has settled every slot is free and no waiter is left. A second
// property does the same for `imapUnordered` with a consumer that may break out early.
// Sizes and delays are small so 100 runs of each finish in seconds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GreenletExit } from '../src/errors.js';
import { TimeoutError } from '../src/timeout.js';
import { spawn, type Greenlet } from '../src/greenlet.js';
import * as hub from '../src/hub/index.js';
import { Pool } from '../src/pool/pool.js';
import { sleep } from '../src/sleep.js';
import { withTimeout } from '../src/with-timeout.js';
import { joinAll } from '../src/wait.js';

interface Task {
  /** ms the task sleeps: 0 is `sleep(0)`. */
  ms: number;
  fails: boolean;
}
/** How a spawner calls `pool.spawn`: plainly, or under a `withTimeout` of `ms`. */
type How = { timeout: false } | { timeout: true; ms: number };
interface Kill {
  /** When main kills, in ms after the spawners started. */
  at: number;
  /** A spawner, or the member running that task. */
  spawner: boolean;
  target: number;
  block: boolean;
}

const task: fc.Arbitrary<Task> = fc.record({ ms: fc.integer({ min: 0, max: 4 }), fails: fc.boolean() });
const how: fc.Arbitrary<How> = fc.oneof(
  fc.constant<How>({ timeout: false }),
  fc.integer({ min: 0, max: 5 }).map<How>((ms) => ({ timeout: true, ms })),
);
const spawner = fc.array(fc.record({ task, how }), { minLength: 1, maxLength: 4 });
const scenario = fc.record({
  capacity: fc.integer({ min: 1, max: 4 }),
  spawners: fc.array(spawner, { minLength: 1, maxLength: 6 }),
  kills: fc.array(
    fc.record({ at: fc.integer({ min: 0, max: 8 }), spawner: fc.boolean(), target: fc.nat(), block: fc.boolean() }),
    { maxLength: 6 },
  ),
});

const spawnOps = hub.kind('pool.spawn');

/** Waiters the pool lists now (from its run-info text). */
function listed(pool: Pool): number {
  return Number(/(\d+) waiting/.exec(String(pool))?.[1] ?? 0);
}

/** Greenlets blocked in `pool.spawn` now, as the hub sees them. */
function blocked(gs: Greenlet[]): number {
  return gs.filter((g) => hub.opsOf(g).some((op) => op.kind === spawnOps && !op.settled)).length;
}

describe('Pool under random load, kills and timeouts', () => {
  it('never exceeds its capacity, loses or repeats no task, and ends with every slot free', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ capacity, spawners, kills }) => {
        const pool = new Pool(capacity);
        let running = 0;
        let peak = 0;
        const runs = new Map<number, number>();
        const outcome = new Map<number, 'done' | 'failed' | 'killed'>();
        const members = new Map<number, Greenlet>();
        const abandoned = new Set<number>();

        const body = async (id: number, t: Task) => {
          runs.set(id, (runs.get(id) ?? 0) + 1);
          peak = Math.max(peak, ++running);
          try {
            await sleep(t.ms);
            if (t.fails) throw new Error(`task ${id} failed`);
            outcome.set(id, 'done');
          } catch (e) {
            outcome.set(id, e instanceof GreenletExit ? 'killed' : 'failed');
            throw e;
          } finally {
            running--;
          }
        };

        let next = 0;
        const plans = spawners.map((steps) => steps.map((s) => ({ ...s, id: next++ })));
        const gs = plans.map((steps) =>
          spawn(async () => {
            for (const s of steps) {
              abandoned.add(s.id); // until its spawn resolves
              const call = () => pool.spawn(body, s.id, s.task);
              let g: Greenlet;
              try {
                g = s.how.timeout ? await withTimeout(s.how.ms, call) : await call();
              } catch (e) {
                if (e instanceof TimeoutError) continue;
                throw e;
              }
              abandoned.delete(s.id);
              members.set(s.id, g);
              g.link(() => {}); // failures are expected: no stderr report
            }
          }),
        );

        let now = 0;
        for (const k of [...kills].sort((a, b) => a.at - b.at)) {
          if (k.at > now) await sleep(k.at - now);
          now = k.at;
          expect(listed(pool)).toBe(blocked(gs));
          const target = k.spawner ? gs[k.target % gs.length] : members.get(k.target % next);
          if (target !== undefined) {
            if (k.block) await target.kill();
            else void target.kill(undefined, { block: false });
          }
          expect(listed(pool)).toBe(blocked(gs));
        }
        await joinAll(gs);
        expect(await pool.join({ timeout: 1000 })).toBe(true);
        await sleep(1);

        expect(peak).toBeLessThanOrEqual(capacity);
        for (let id = 0; id < next; id++) {
          expect(runs.get(id) ?? 0).toBeLessThanOrEqual(1);
          const g = members.get(id);
          if (g === undefined) {
            expect(abandoned.has(id) || !runs.has(id)).toBe(true);
            expect(runs.has(id)).toBe(false); // a spawn given up never runs its task
            continue;
          }
          expect(g.dead).toBe(true);
          if (g.value instanceof GreenletExit) expect(outcome.get(id) ?? 'killed').toBe('killed');
          else if (g.successful()) expect(outcome.get(id)).toBe('done');
          else expect(outcome.get(id)).toBe('failed');
        }
        expect(pool.size).toBe(0);
        expect(pool.freeCount()).toBe(capacity);
        expect(listed(pool)).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it('imapUnordered keeps capacity, reads no further than capacity ahead, and gives every result once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 15 }),
        fc.option(fc.nat(), { nil: undefined }),
        fc.boolean(),
        async (capacity, durations, breakAfter, asyncInput) => {
          const pool = new Pool(capacity);
          let running = 0;
          let peak = 0;
          let pulled = 0;
          let consumed = 0;
          let ahead = 0;
          let finished = 0;
          let closed = false;
          function* items() {
            try {
              for (let i = 0; i < durations.length; i++) {
                // A slot is free for it: fewer than capacity earlier items unfinished (the
                // worker that reads it, a member, holds that slot).
                expect(pulled - finished).toBeLessThan(capacity);
                expect(pool.size).toBeLessThanOrEqual(capacity);
                pulled++;
                ahead = Math.max(ahead, pulled - consumed);
                yield i;
              }
            } finally {
              closed = true;
            }
          }
          async function* asyncItems() {
            yield* items();
          }
          const got: number[] = [];
          const it = pool.imapUnordered(async (i: number) => {
            peak = Math.max(peak, ++running);
            try {
              await sleep(durations[i]!);
            } finally {
              running--;
              finished++;
            }
            return i;
          }, asyncInput ? asyncItems() : items());
          for await (const i of it) {
            consumed++;
            got.push(i);
            if (breakAfter !== undefined && got.length > breakAfter % (durations.length + 1)) break;
            if (i % 3 === 0) await sleep(1);
          }
          expect(await pool.join({ timeout: 1000 })).toBe(true);
          await sleep(1);
          expect(closed).toBe(true);
          expect(peak).toBeLessThanOrEqual(capacity);
          expect(ahead).toBeLessThanOrEqual(capacity);
          expect(new Set(got).size).toBe(got.length);
          if (breakAfter === undefined) expect(got.sort((a, b) => a - b)).toEqual(durations.map((_, i) => i));
          expect(pool.freeCount()).toBe(capacity);
          expect(listed(pool)).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });
});
