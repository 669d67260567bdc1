// 100,000 tiny tasks (i => i + 1, from a module file) through a pool of 4 worker threads:
// submit all, wait for all. greenio's ThreadPool (futures, and futures with done callbacks
// like gevent's ThreadPoolExecutor bench) beside piscina and tinypool at the same size,
// and beside Python gevent's figures (../shared/bench/gevent/threadpool.py).
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import Tinypool from 'tinypool';
import { ThreadPool } from '../src/workers/threadpool.js';
import type { Future } from '../src/workers/future.js';
import { wait } from '../src/wait.js';
import { Event } from '../src/event.js';
import { defineWorkload, timeIt } from './lib.js';

const N = Number(process.env.N ?? 100_000);
const SIZE = 4;
const RUNS = Number(process.env.RUNS ?? 3);

// One task module for every pool (piscina and tinypool need a file; so does a fair race).
function taskFile(): string {
  const file = join(tmpdir(), `greenio-bench-tiny-${process.pid}.mjs`);
  writeFileSync(file, 'export default function tiny(i) { return i + 1; }\n');
  process.once('exit', () => rmSync(file, { force: true }));
  return file;
}

/** Every result must be there: the sum of i + 1 over 0..N-1. */
function check(sum: number): void {
  if (sum !== (N * (N + 1)) / 2) throw new Error(`wrong sum ${sum}`);
}

export default defineWorkload({
  name: 'threadpool',
  description: `${N} tiny tasks through a pool of ${SIZE} threads (submit all, wait all); tasks per second`,
  variants: {
    async greenio() {
      const task = { file: pathToFileURL(taskFile()) };
      const pool = new ThreadPool({ size: SIZE });
      const ms = await timeIt(async () => {
        const fs: Future<number>[] = new Array(N);
        for (let i = 0; i < N; i++) fs[i] = pool.submit<number>(task, i);
        await wait(fs);
        let sum = 0;
        for (const f of fs) sum += await f.result();
        check(sum);
      }, RUNS, 1);
      await pool.close();
      return { per_s: N / (ms / 1000), ms };
    },
    async greenio_callbacks() {
      const task = { file: pathToFileURL(taskFile()) };
      const pool = new ThreadPool({ size: SIZE });
      const ms = await timeIt(async () => {
        const done = new Event();
        let count = 0;
        const cb = (): void => {
          if (++count === N) done.set();
        };
        for (let i = 0; i < N; i++) pool.submit<number>(task, i).addDoneCallback(cb);
        await done.wait();
      }, RUNS, 1);
      await pool.close();
      return { per_s: N / (ms / 1000), ms };
    },
    async piscina() {
      const pool = new Piscina({ filename: pathToFileURL(taskFile()).href, minThreads: SIZE, maxThreads: SIZE, idleTimeout: 60_000 });
      const ms = await timeIt(async () => {
        const ps: Promise<number>[] = new Array(N);
        for (let i = 0; i < N; i++) ps[i] = pool.run(i) as Promise<number>;
        check((await Promise.all(ps)).reduce((a, b) => a + b, 0));
      }, RUNS, 1);
      await pool.destroy();
      return { per_s: N / (ms / 1000), ms };
    },
    async tinypool() {
      const pool = new Tinypool({ filename: pathToFileURL(taskFile()).href, minThreads: SIZE, maxThreads: SIZE });
      const ms = await timeIt(async () => {
        const ps: Promise<number>[] = new Array(N);
        for (let i = 0; i < N; i++) ps[i] = pool.run(i) as Promise<number>;
        check((await Promise.all(ps)).reduce((a, b) => a + b, 0));
      }, RUNS, 1);
      await pool.destroy();
      return { per_s: N / (ms / 1000), ms };
    },
  },
  gevent: { script: 'threadpool.py', variants: { gevent: { per_s: 'tp_spawn_tasks_per_s' }, gevent_executor: { per_s: 'tpe_callback_tasks_per_s' } } },
  ratios: [
    { label: 'greenio / piscina', metric: 'per_s', numerator: 'greenio', denominator: 'piscina', target: 0.9 },
    { label: 'greenio / tinypool', metric: 'per_s', numerator: 'greenio', denominator: 'tinypool' },
    { label: 'greenio / gevent ThreadPool', metric: 'per_s', numerator: 'greenio', denominator: 'gevent' },
    { label: 'greenio callbacks / gevent ThreadPoolExecutor+callbacks', metric: 'per_s', numerator: 'greenio_callbacks', denominator: 'gevent_executor' },
  ],
});
