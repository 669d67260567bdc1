// 10,000 greenlets wait on one Event; a separate greenlet sets it once they are all
// parked and the main greenlet is parked in joinAll (as gevent's event_wakeup.py does):
// time from set() to the first and the last waiter resumed, and to joinAll's return.
// Baseline: 10,000 async functions awaiting one shared promise, resolved once.
import { Event } from '../src/event.js';
import { spawn } from '../src/greenlet.js';
import { sleep } from '../src/sleep.js';
import { joinAll } from '../src/wait.js';
import { defineWorkload, median, type Metrics } from './lib.js';

const N = Number(process.env.N ?? 10_000);
const RUNS = 7;
const WARMUP = 2;

interface Round {
  t0: number;
  first: number;
  last: number;
  joined: number;
}

function metrics(rounds: Round[]): Metrics {
  const wokeAll = median(rounds.map((r) => r.last - r.t0));
  const joinAll = median(rounds.map((r) => r.joined - r.t0));
  return {
    woke_all_ms: wokeAll,
    first_woke_ms: median(rounds.map((r) => r.first - r.t0)),
    join_all_ms: joinAll,
    wakeups_per_s: N / (wokeAll / 1000),
    joined_per_s: N / (joinAll / 1000),
  };
}

async function repeat(once: () => Promise<Round>): Promise<Metrics> {
  const rounds: Round[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const r = await once();
    if (i >= WARMUP) rounds.push(r);
    await new Promise((res) => setTimeout(res, 5)); // let timers and GC settle
  }
  return metrics(rounds);
}

async function greenioOnce(): Promise<Round> {
  const ev = new Event();
  let first = 0;
  let last = 0;
  let woken = 0;
  const waiter = async (): Promise<void> => {
    await ev.wait();
    last = performance.now();
    if (woken++ === 0) first = last;
  };
  const gs = new Array(N);
  for (let i = 0; i < N; i++) gs[i] = spawn(waiter);
  await sleep(0);
  await sleep(0);
  let t0 = 0;
  spawn(() => {
    t0 = performance.now();
    ev.set();
  });
  await joinAll(gs);
  const joined = performance.now();
  if (woken !== N) throw new Error(`only ${woken} of ${N} woke`);
  return { t0, first, last, joined };
}

async function rawOnce(): Promise<Round> {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let first = 0;
  let last = 0;
  let woken = 0;
  const waiter = async (): Promise<void> => {
    await gate;
    last = performance.now();
    if (woken++ === 0) first = last;
  };
  const ps = new Array(N);
  for (let i = 0; i < N; i++) ps[i] = waiter();
  await new Promise((r) => setImmediate(r));
  const all = Promise.all(ps);
  const t0 = performance.now();
  open();
  await all;
  const joined = performance.now();
  if (woken !== N) throw new Error(`only ${woken} of ${N} woke`);
  return { t0, first, last, joined };
}

export default defineWorkload({
  name: 'event_wakeup',
  description: `${N} greenlets wait on one Event; set() -> last resumed and -> joinAll; wakeups per second`,
  variants: {
    greenio: () => repeat(greenioOnce),
    raw: () => repeat(rawOnce),
  },
  gevent: {
    script: 'event_wakeup.py',
    variants: { gevent: { woke_all_ms: '1000*woke_all_s', first_woke_ms: '1000*first_woke_s', join_all_ms: '1000*join_all_s', wakeups_per_s: 'wakeups_per_s', joined_per_s: 'N/join_all_s' } },
  },
  ratios: [
    { label: 'greenio / raw promises (wakeups)', metric: 'wakeups_per_s', numerator: 'greenio', denominator: 'raw' },
    { label: 'greenio / raw promises (to join)', metric: 'joined_per_s', numerator: 'greenio', denominator: 'raw' },
    { label: 'greenio / Python gevent (wakeups)', metric: 'wakeups_per_s', numerator: 'greenio', denominator: 'gevent' },
    { label: 'greenio / Python gevent (to joinAll)', metric: 'joined_per_s', numerator: 'greenio', denominator: 'gevent' },
  ],
});
