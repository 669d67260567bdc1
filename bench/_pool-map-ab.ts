// In-process A/B for issue 18 item 3 (run by hand, not a workload): bench/pool-map.ts's
// loads (Pool(100) over N tasks that each wait one loop turn) beside p-map and the floor
// variants, interleaved round by round in one process so a busy machine slows each alike;
// medians of CPU time per task (process.cpuUsage: user+system), ratios as p-map / variant.
// Run: node --expose-gc --import tsx bench/_pool-map-ab.ts [variant ...]   (ROUNDS=15 N=20000)
// SIDE=<variant>: run that variant alone (warm-up, a collection, then ROUNDS rounds), for
// `valgrind --tool=callgrind` at two N: the difference over the difference is instructions
// per task (bench/_pool-map-count.mjs does this over a build directory, with the command).
// To measure greenio as shipped, add `--import ./bench/_dist.mjs` after `--import tsx` (dist/;
// without it tsx's rendering of src/ is measured, which is not what users run).
import pMap, { pMapIterable } from 'p-map';
import { floorTask, plainTask, range, scopedTask, task } from './_pool-map-tasks.js';
import { Group, Pool } from '../src/pool/pool.js';
import { spawn } from '../src/greenlet.js';
import { joinAll } from '../src/wait.js';
import { gc, median } from './lib.js';

const ROUNDS = Number(process.env.ROUNDS ?? 15);
let n = Number(process.env.N ?? 20_000);
const SIZE = 100;

function check(count: number, total: number): void {
  if (count !== n || total !== (n * (n - 1)) / 2) throw new Error(`lost tasks: ${count} results, sum ${total}`);
}
async function consume(it: AsyncIterable<number>): Promise<void> {
  let total = 0;
  let count = 0;
  for await (const v of it) {
    total += v;
    count++;
  }
  check(count, total);
}
async function viaPMap(fn: (x: number) => Promise<number>): Promise<void> {
  const out = await pMap(range(n), fn, { concurrency: SIZE });
  let total = 0;
  for (const v of out) total += v;
  check(out.length, total);
}

const variants: Record<string, () => Promise<void>> = {
  p_map: () => viaPMap(plainTask),
  p_map_scoped: () => viaPMap(scopedTask),
  p_map_floor: () => viaPMap(floorTask),
  // p-map's async-iterable form (ordered, at most `backpressure` results ahead of the consumer): imap's peer.
  p_map_iterable: () => consume(pMapIterable(range(n), plainTask, { concurrency: SIZE, backpressure: SIZE })),
  p_map_iterable_floor: () => consume(pMapIterable(range(n), floorTask, { concurrency: SIZE, backpressure: SIZE })),
  imap_unordered: () => consume(new Pool(SIZE).imapUnordered(task, range(n))),
  imap: () => consume(new Pool(SIZE).imap(task, range(n))),
  pool_map: async () => {
    const out = await new Pool(SIZE).map(task, range(n));
    check(out.length, out.reduce((a, b) => a + b, 0));
  },
  // Group.map's peers: every task started at once (no bound), plain and each in its own ALS.run.
  promise_all: async () => {
    const out = await Promise.all(Array.from(range(n), plainTask));
    check(out.length, out.reduce((a, b) => a + b, 0));
  },
  promise_all_floor: async () => {
    const out = await Promise.all(Array.from(range(n), floorTask));
    check(out.length, out.reduce((a, b) => a + b, 0));
  },
  // What Group.map's greenlet per item costs alone: spawn every task, then joinAll.
  spawn_all: async () => {
    const gs = Array.from(range(n), (i) => spawn(task, i));
    await joinAll(gs, { raiseError: true });
    check(gs.length, gs.reduce((a, g) => a + (g.value as number), 0));
  },
  // Group.map's peer with workers: a Pool as wide as the input (every item has its slot at once, as in a Group).
  pool_n_map: async () => {
    const out = await new Pool(n).map(task, range(n));
    check(out.length, out.reduce((a, b) => a + b, 0));
  },
  group_map: async () => {
    const out = await new Group().map(task, range(n));
    check(out.length, out.reduce((a, b) => a + b, 0));
  },
};

const side = process.env.SIDE;
if (side !== undefined) {
  const f = variants[side];
  if (f === undefined) throw new Error(`unknown SIDE ${side}`);
  const N = n;
  n = 5000;
  for (let r = 0; r < 3; r++) await f();
  gc();
  for (let r = 0; r < 3; r++) await f();
  n = N;
  for (let r = 0; r < ROUNDS; r++) await f();
} else {
  const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['p_map', 'p_map_scoped', 'p_map_floor', 'p_map_iterable', 'p_map_iterable_floor', 'imap_unordered', 'imap', 'pool_map'];
  const times: Record<string, number[]> = {};
  for (const k of names) {
    times[k] = [];
    await variants[k]!(); // warm
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of names) {
      gc();
      const c0 = process.cpuUsage();
      await variants[k]!();
      const c = process.cpuUsage(c0);
      times[k]!.push((c.user + c.system) / n); // µs of CPU per task
    }
  }
  const base = median(times.p_map ?? [NaN]);
  const rows = names.map((k) => ({ variant: k, us_per_task: +median(times[k]!).toFixed(3), p_map_over_this: +(base / median(times[k]!)).toFixed(3) }));
  console.log(JSON.stringify({ node: process.version, n, rounds: ROUNDS, rows }));
  console.table(rows);
}
