// 100,000 withTimeout cycles around sleep(0), against the raw equivalent (a timer set
// and cleared around an await of setImmediate) and a bare sleep(0); and around a promise
// greenio cannot see (a setImmediate promise, unpatched), which withTimeout races against
// its deadline so that it is always on time (README, Timeouts). `raw_scoped` is the raw
// cycle in its own AsyncLocalStorage.run: the floor of a timeout scoped to fn's own flow;
// `raw_scoped_tick` the same without the timer (what a scoped timeout pays with a timer
// shared by every Timeout, as greenio's). Floors of the goals: the raw cycle's own µs per
// op (under ≤ 2 µs), raw / gevent (under ≥ 1.5x gevent), the scoped cycles / raw (≥ 1).
import { AsyncLocalStorage } from 'node:async_hooks';
import { sleep, withTimeout } from '../src/index.js';
import { defineWorkload, timeIt } from './lib.js';

const N = Number(process.env.N ?? 100_000);
const tick = () => new Promise<void>((r) => setImmediate(r));
async function rawCycle(): Promise<void> {
  const t = setTimeout(() => {}, 1000);
  await tick();
  clearTimeout(t);
}
const scope = new AsyncLocalStorage<object>();

export default defineWorkload({
  name: 'timeout_cycles',
  description: `${N} x withTimeout(1000, () => sleep(0)); ops per second`,
  variants: {
    async greenio() {
      const ms = await timeIt(async () => {
        for (let i = 0; i < N; i++) await withTimeout(1000, () => sleep(0));
      }, 3, 1);
      return { per_s: N / (ms / 1000), us_per_op: (ms * 1000) / N };
    },
    async greenio_unseen() {
      const ms = await timeIt(async () => {
        for (let i = 0; i < N; i++) await withTimeout(1000, tick);
      }, 3, 1);
      return { per_s: N / (ms / 1000), us_per_op: (ms * 1000) / N };
    },
    async greenio_sleep0() {
      const ms = await timeIt(async () => {
        for (let i = 0; i < N; i++) await sleep(0);
      }, 3, 1);
      return { per_s: N / (ms / 1000), us_per_op: (ms * 1000) / N };
    },
    async raw_scoped() {
      const ms = await timeIt(async () => {
        for (let i = 0; i < N; i++) await scope.run({}, rawCycle);
      }, 3, 1);
      return { per_s: N / (ms / 1000), us_per_op: (ms * 1000) / N };
    },
    async raw_scoped_tick() {
      const ms = await timeIt(async () => {
        for (let i = 0; i < N; i++) await scope.run({}, tick);
      }, 3, 1);
      return { per_s: N / (ms / 1000), us_per_op: (ms * 1000) / N };
    },
    async raw() {
      const ms = await timeIt(async () => {
        for (let i = 0; i < N; i++) {
          const t = setTimeout(() => {}, 1000);
          await tick();
          clearTimeout(t);
        }
      }, 3, 1);
      return { per_s: N / (ms / 1000), us_per_op: (ms * 1000) / N };
    },
  },
  gevent: { script: 'timeout.py', variants: { gevent: { per_s: '1e6/timeout_sleep0_us_per_op', us_per_op: 'timeout_sleep0_us_per_op' } } },
  ratios: [
    { label: 'greenio, µs per op', metric: 'us_per_op', numerator: 'greenio', target: 2, atMost: true, goal: '`withTimeout(sleep(0))`, µs per op' },
    { label: 'greenio / raw timer+await', metric: 'per_s', numerator: 'greenio', denominator: 'raw', target: 1, goal: '`withTimeout(sleep(0))` / a raw timer + await' },
    { label: 'greenio / raw timer+await in its own AsyncLocalStorage.run (the floor)', metric: 'per_s', numerator: 'greenio', denominator: 'raw_scoped' },
    { label: 'greenio around an unseen promise / raw timer+await', metric: 'per_s', numerator: 'greenio_unseen', denominator: 'raw' },
    { label: 'greenio / Python gevent', metric: 'per_s', numerator: 'greenio', denominator: 'gevent', target: 1.5, goal: '`withTimeout(sleep(0))` / Python gevent' },
    { label: 'raw timer+await, µs per op', metric: 'us_per_op', numerator: 'raw', target: 2, atMost: true, floorFor: '`withTimeout(sleep(0))`, µs per op' },
    { label: 'raw timer+await / Python gevent', metric: 'per_s', numerator: 'raw', denominator: 'gevent', target: 1.5, floorFor: '`withTimeout(sleep(0))` / Python gevent' },
    { label: 'raw timer+await in its own AsyncLocalStorage.run / raw', metric: 'per_s', numerator: 'raw_scoped', denominator: 'raw', target: 1, floorFor: '`withTimeout(sleep(0))` / a raw timer + await' },
    { label: 'an await of setImmediate in its own AsyncLocalStorage.run (no timer) / raw', metric: 'per_s', numerator: 'raw_scoped_tick', denominator: 'raw', target: 1, floorFor: '`withTimeout(sleep(0))` / a raw timer + await' },
  ],
});
