// spawn + joinAll of 100,000 greenlets that return at once, against raw promises
// (Promise.all of async functions) and against the floor any per-task context pays
// (the same async functions each run inside its own AsyncLocalStorage.run), and against
// the floor of a task that, like a greenlet, starts after the caller's synchronous run
// (`als_deferred`: each task's start a promise reaction registered in its own context):
// the deferred floor over the plain one is the most any spawn that never runs fn inside
// spawn() can reach against the floor.
import { AsyncLocalStorage } from 'node:async_hooks';
import { joinAll, spawn } from '../src/index.js';
import { defineWorkload, timeIt } from './lib.js';

const N = Number(process.env.N ?? 100_000);
const task = async (i: number) => i * 2;
const RESOLVED = Promise.resolve();

export default defineWorkload({
  name: 'spawn_join',
  description: `spawn + joinAll of ${N} greenlets (return i*2); greenlets per second`,
  variants: {
    async greenio() {
      const ms = await timeIt(async () => {
        const gs = new Array(N);
        for (let i = 0; i < N; i++) gs[i] = spawn(task, i);
        await joinAll(gs);
      });
      return { per_s: N / (ms / 1000), ms };
    },
    async raw() {
      const ms = await timeIt(async () => {
        const ps = new Array(N);
        for (let i = 0; i < N; i++) ps[i] = task(i);
        await Promise.all(ps);
      });
      return { per_s: N / (ms / 1000), ms };
    },
    async als_deferred() {
      const als = new AsyncLocalStorage<number>();
      const start = (i: number) => RESOLVED.then(() => task(i));
      const ms = await timeIt(async () => {
        const ps = new Array(N);
        for (let i = 0; i < N; i++) ps[i] = als.run(i, start, i);
        await Promise.all(ps);
      });
      return { per_s: N / (ms / 1000), ms };
    },
    async als_floor() {
      const als = new AsyncLocalStorage<number>();
      const ms = await timeIt(async () => {
        const ps = new Array(N);
        for (let i = 0; i < N; i++) ps[i] = als.run(i, task, i);
        await Promise.all(ps);
      });
      return { per_s: N / (ms / 1000), ms };
    },
  },
  gevent: { script: 'spawn_join.py', variants: { gevent: { per_s: 'greenlets_per_s' } } },
  ratios: [
    { label: 'greenio / raw promises', metric: 'per_s', numerator: 'greenio', denominator: 'raw', target: 0.5 },
    { label: 'greenio / ALS-per-task floor', metric: 'per_s', numerator: 'greenio', denominator: 'als_floor', target: 0.9, target20: 0.7, goal: 'spawn + joinAll / the ALS-per-task floor' },
    { label: 'greenio / deferred ALS-per-task floor (each task started a reaction later, as spawn starts one)', metric: 'per_s', numerator: 'greenio', denominator: 'als_deferred' },
    { label: 'deferred ALS-per-task floor / ALS-per-task floor', metric: 'per_s', numerator: 'als_deferred', denominator: 'als_floor', target: 0.9, target20: 0.7, floorFor: 'spawn + joinAll / the ALS-per-task floor' },
    { label: 'greenio / Python gevent', metric: 'per_s', numerator: 'greenio', denominator: 'gevent', target: 3 },
  ],
});
