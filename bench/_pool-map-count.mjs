// Instructions per task of bench/pool-map.ts's maps under callgrind (issue 18 item 3): warm up
// 4 x 5,000 tasks, gc(), then n tasks; run it at two n and divide the difference by the tasks
// between (GC and compiling in the window count: read to a few %). Plain JavaScript over a
// build directory (a copy of dist/, for before/after), so every Node runs it without tsx.
//   for n in 10000 50000; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//     node --single-threaded --predictable --expose-gc bench/_pool-map-count.mjs <dir|pmap> <work> $n; done
// work: unordered | ordered | map (Pool(100)), spawn (spawn + joinAll, greenlets returning at
// once); pmap's: unordered (p-map), floor (p-map, each task in its own store read back after
// its wait), ordered (pMapIterable of the floor task, backpressure 100), spawn (ALS floor).
// A/B of the same works in one process, interleaved: _pool-map-ab.mjs.
import { AsyncLocalStorage } from 'node:async_hooks';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import pMap, { pMapIterable } from 'p-map';

const SIZE = 100;
function* range(n) {
  for (let i = 0; i < n; i++) yield i;
}
function check(count, total, n) {
  if (count !== n || total !== (n * (n - 1)) / 2) throw new Error(`lost tasks: ${count} results, sum ${total}`);
}
async function consume(it, n) {
  let total = 0;
  let count = 0;
  for await (const v of it) {
    total += v;
    count++;
  }
  check(count, total, n);
}
const turn = () => new Promise((resolve) => setImmediate(resolve));
const plainTask = async (x) => {
  await turn();
  return x;
};
const scope = new AsyncLocalStorage();
const floorTask = (x) =>
  scope.run({ x }, async () => {
    await turn();
    return scope.getStore().x;
  });
const twice = async (i) => i * 2;

/** The works of `target`: 'pmap' (the peers and floors) or a build directory of greenio. */
export async function poolWorks(target) {
  if (target === 'pmap') {
    return {
      unordered: async (n) => {
        const out = await pMap(range(n), plainTask, { concurrency: SIZE });
        check(out.length, out.reduce((a, b) => a + b, 0), n);
      },
      floor: async (n) => {
        const out = await pMap(range(n), floorTask, { concurrency: SIZE });
        check(out.length, out.reduce((a, b) => a + b, 0), n);
      },
      ordered: (n) => consume(pMapIterable(range(n), floorTask, { concurrency: SIZE, backpressure: SIZE }), n),
      spawn: async (n) => {
        const als = new AsyncLocalStorage();
        const ps = new Array(n);
        for (let i = 0; i < n; i++) ps[i] = als.run(i, twice, i);
        await Promise.all(ps);
      },
    };
  }
  const g = await import(pathToFileURL(path.resolve(target, 'src/index.js')).href);
  const task = async (x) => {
    await g.sleep(0);
    return x;
  };
  return {
    unordered: (n) => consume(new g.Pool(SIZE).imapUnordered(task, range(n)), n),
    ordered: (n) => consume(new g.Pool(SIZE).imap(task, range(n)), n),
    map: async (n) => {
      const out = await new g.Pool(SIZE).map(task, range(n));
      check(out.length, out.reduce((a, b) => a + b, 0), n);
    },
    spawn: async (n) => {
      const gs = new Array(n);
      for (let i = 0; i < n; i++) gs[i] = g.spawn(twice, i);
      await g.joinAll(gs);
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [target, work, nArg] = process.argv.slice(2);
  const works = await poolWorks(target);
  const f = works[work];
  if (f === undefined) throw new Error(`unknown work ${work} for ${target}`);
  for (let i = 0; i < 4; i++) await f(5000);
  globalThis.gc();
  await f(Number(nArg));
}
