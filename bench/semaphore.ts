// 100,000 acquire/release cycles by 100 greenlets on BoundedSemaphore(10), as gevent's
// semaphore.py: contended (sleep(0) inside the critical section, so ~90 greenlets are
// parked in acquire() and every release hands off to a waiter) and uncontended (no
// yield inside: acquire never blocks). Node peer: p-limit(10) around the same bodies,
// yielding with setImmediate as sleep(0) does.
import { setImmediate as yieldTurn } from 'node:timers/promises';
import pLimit from 'p-limit';
import { spawn } from '../src/greenlet.js';
import { BoundedSemaphore } from '../src/lock.js';
import { sleep } from '../src/sleep.js';
import { joinAll } from '../src/wait.js';
import { defineWorkload, timeIt, type Metrics } from './lib.js';

const CYCLES = Number(process.env.CYCLES ?? 100_000);
const G = 100;
const PERMITS = 10;
const PER = CYCLES / G;

async function measure(run: () => Promise<number>): Promise<Metrics> {
  let most = 0;
  const ms = await timeIt(async () => {
    most = Math.max(most, await run());
  });
  if (most > PERMITS) throw new Error(`${most} holders at once, more than ${PERMITS}`);
  return { cycles_per_s: CYCLES / (ms / 1000), ms, max_holders: most };
}

/** greenio: G greenlets, PER cycles each; returns the most holders seen at once. */
async function greenio(yieldInside: boolean): Promise<number> {
  const sem = new BoundedSemaphore(PERMITS);
  let inside = 0;
  let most = 0;
  const worker = async (): Promise<void> => {
    for (let i = 0; i < PER; i++) {
      await sem.acquire();
      if (++inside > most) most = inside;
      if (yieldInside) await sleep(0);
      inside--;
      sem.release();
    }
  };
  const gs = new Array(G);
  for (let i = 0; i < G; i++) gs[i] = spawn(worker);
  await joinAll(gs, { raiseError: true });
  return most;
}

/** p-limit: G async workers, each cycle one limited call. */
async function plimit(yieldInside: boolean): Promise<number> {
  const limit = pLimit(PERMITS);
  let inside = 0;
  let most = 0;
  const body = async (): Promise<void> => {
    if (++inside > most) most = inside;
    if (yieldInside) await yieldTurn();
    inside--;
  };
  const worker = async (): Promise<void> => {
    for (let i = 0; i < PER; i++) await limit(body);
  };
  const ps = new Array(G);
  for (let i = 0; i < G; i++) ps[i] = worker();
  await Promise.all(ps);
  return most;
}

export default defineWorkload({
  name: 'semaphore',
  description: `${CYCLES} acquire/release cycles by ${G} greenlets on BoundedSemaphore(${PERMITS}); cycles per second`,
  variants: {
    greenio_contended: () => measure(() => greenio(true)),
    greenio_uncontended: () => measure(() => greenio(false)),
    plimit_contended: () => measure(() => plimit(true)),
    plimit_uncontended: () => measure(() => plimit(false)),
  },
  gevent: {
    script: 'semaphore.py',
    variants: {
      gevent_contended: { cycles_per_s: 'contended_cycles_per_s', max_holders: 'contended_max_holders' },
      gevent_uncontended: { cycles_per_s: 'uncontended_cycles_per_s', max_holders: 'uncontended_max_holders' },
    },
  },
  ratios: [
    { label: 'greenio / p-limit (contended)', metric: 'cycles_per_s', numerator: 'greenio_contended', denominator: 'plimit_contended' },
    { label: 'greenio / p-limit (uncontended)', metric: 'cycles_per_s', numerator: 'greenio_uncontended', denominator: 'plimit_uncontended' },
    { label: 'greenio / Python gevent (contended)', metric: 'cycles_per_s', numerator: 'greenio_contended', denominator: 'gevent_contended' },
    { label: 'greenio / Python gevent (uncontended)', metric: 'cycles_per_s', numerator: 'greenio_uncontended', denominator: 'gevent_uncontended' },
  ],
});
