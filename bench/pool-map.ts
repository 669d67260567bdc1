// pool_map (mirrors ../shared/bench/gevent/pool_map.py): Pool(100).imapUnordered and
// Pool(100).imap over 100,000 tasks that each wait one event-loop turn (`sleep(0)`),
// beside p-map and p-limit at concurrency 100 running the same task (a setImmediate
// promise: one loop turn, as they have no greenio sleep). Tasks per second. `p_map_scoped`
// runs each p-map task in its own AsyncLocalStorage.run; `p_map_floor` also reads its store
// back after its one wait, and `p_map_iterable` is p-map's async-iterable form (ordered, at
// most 100 results ahead of the consumer, as imap's window): together the floor of a map
// whose tasks carry their own context and whose results a consumer takes one by one.
// In-process A/B and instruction counts: bench/_pool-map-ab.ts.
import pLimit from 'p-limit';
import pMap, { pMapIterable } from 'p-map';
import { floorTask, plainTask, range, scopedTask, task } from './_pool-map-tasks.js';
import { Pool } from '../src/pool/pool.js';
import { defineWorkload, timeIt } from './lib.js';

const N = Number(process.env.N ?? 100_000);
const SIZE = 100;

function check(count: number, total: number): void {
  if (count !== N || total !== (N * (N - 1)) / 2) throw new Error(`lost tasks: ${count} results, sum ${total}`);
}

async function greenio(method: 'imap' | 'imapUnordered'): Promise<number> {
  const ms = await timeIt(async () => {
    const pool = new Pool(SIZE);
    let total = 0;
    let count = 0;
    for await (const v of pool[method](task, range(N))) {
      total += v;
      count++;
    }
    check(count, total);
  });
  return N / (ms / 1000);
}

export default defineWorkload({
  name: 'pool_map',
  description: `Pool(${SIZE}) over ${N} tasks that each wait one loop turn; tasks per second`,
  variants: {
    async imap_unordered() {
      return { per_s: await greenio('imapUnordered') };
    },
    async imap_ordered() {
      return { per_s: await greenio('imap') };
    },
    async p_map() {
      const ms = await timeIt(async () => {
        const out = await pMap(range(N), plainTask, { concurrency: SIZE });
        let total = 0;
        for (const v of out) total += v;
        check(out.length, total);
      });
      return { per_s: N / (ms / 1000) };
    },
    async p_map_scoped() {
      const ms = await timeIt(async () => {
        const out = await pMap(range(N), scopedTask, { concurrency: SIZE });
        let total = 0;
        for (const v of out) total += v;
        check(out.length, total);
      });
      return { per_s: N / (ms / 1000) };
    },
    async p_map_floor() {
      const ms = await timeIt(async () => {
        const out = await pMap(range(N), floorTask, { concurrency: SIZE });
        let total = 0;
        for (const v of out) total += v;
        check(out.length, total);
      });
      return { per_s: N / (ms / 1000) };
    },
    async p_map_iterable() {
      const ms = await timeIt(async () => {
        let total = 0;
        let count = 0;
        for await (const v of pMapIterable(range(N), floorTask, { concurrency: SIZE, backpressure: SIZE })) {
          total += v;
          count++;
        }
        check(count, total);
      });
      return { per_s: N / (ms / 1000) };
    },
    async p_limit() {
      const ms = await timeIt(async () => {
        const limit = pLimit(SIZE);
        const ps: Promise<number>[] = [];
        for (const i of range(N)) ps.push(limit(plainTask, i));
        const out = await Promise.all(ps);
        let total = 0;
        for (const v of out) total += v;
        check(out.length, total);
      });
      return { per_s: N / (ms / 1000) };
    },
  },
  gevent: { script: 'pool_map.py', variants: { gevent_unordered: { per_s: 'imap_unordered_tasks_per_s' }, gevent_ordered: { per_s: 'imap_ordered_tasks_per_s' } } },
  ratios: [
    { label: 'imapUnordered / Python gevent', metric: 'per_s', numerator: 'imap_unordered', denominator: 'gevent_unordered', target: 5 },
    { label: 'imapUnordered / p-map', metric: 'per_s', numerator: 'imap_unordered', denominator: 'p_map', target: 1, goal: '`Pool(100).imapUnordered` / p-map' },
    { label: 'imapUnordered / p-map, each task in its own AsyncLocalStorage.run (the floor)', metric: 'per_s', numerator: 'imap_unordered', denominator: 'p_map_scoped' },
    { label: 'imapUnordered / p-map, each task in its own store, read back after its wait (the floor)', metric: 'per_s', numerator: 'imap_unordered', denominator: 'p_map_floor' },
    { label: 'p-map, each task in its own store, read back after its wait / p-map', metric: 'per_s', numerator: 'p_map_floor', denominator: 'p_map', target: 1, floorFor: '`Pool(100).imapUnordered` / p-map' },
    { label: 'imap (ordered) / pMapIterable, each task in its own store (its floor)', metric: 'per_s', numerator: 'imap_ordered', denominator: 'p_map_iterable' },
    { label: 'imapUnordered / p-limit', metric: 'per_s', numerator: 'imap_unordered', denominator: 'p_limit' },
    { label: 'imap (ordered) / Python gevent', metric: 'per_s', numerator: 'imap_ordered', denominator: 'gevent_ordered' },
    { label: 'imap (ordered) / p-map', metric: 'per_s', numerator: 'imap_ordered', denominator: 'p_map' },
  ],
});
