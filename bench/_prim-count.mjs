// Instructions per op of the in-memory primitives under callgrind (PRIM18): warm up 4 x 5,000
// ops, gc(), then n ops; run it at two sizes and divide the difference (GC and compiling in
// the window count, so read to a few %). Targets: a copy of dist/ (cp -r dist /tmp/base), or
// raw / floor (in its own AsyncLocalStorage.run) / dfloor (floor started a reaction later).
//   for n in 5000 25000; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//     node --single-threaded --expose-gc bench/_prim-count.mjs <dir|raw|floor|dfloor> <spawn|chan|rt|wt|sleep> $n; done
import { AsyncLocalStorage } from 'node:async_hooks';
import { pathToFileURL } from 'node:url';
const [dir, work, nArg] = process.argv.slice(2);
const n = Number(nArg);
const task = async (i) => i * 2;
const tick = () => new Promise((r) => setImmediate(r));
const RESOLVED = Promise.resolve();
let works;
if (dir === 'floor' || dir === 'dfloor' || dir === 'raw') {
  const als = new AsyncLocalStorage();
  const run = dir === 'raw' ? (fn) => fn() : (fn) => als.run({}, fn);
  const deferred = (i) => RESOLVED.then(() => task(i));
  works = {
    spawn: async (N) => { const ps = new Array(N); for (let i = 0; i < N; i++) ps[i] = dir === 'dfloor' ? als.run(i, deferred, i) : dir === 'floor' ? als.run(i, task, i) : task(i); await Promise.all(ps); },
    wt: async (N) => { const cycle = async () => { const t = setTimeout(() => {}, 1000); await tick(); clearTimeout(t); }; for (let i = 0; i < N; i++) await run(cycle); },
    sleep: async (N) => { for (let i = 0; i < N; i++) await run(tick); },
  };
} else {
  const { spawn, joinAll, Channel, Queue, withTimeout, sleep } = await import(pathToFileURL(dir + '/src/index.js').href);
  works = {
    chan: async (N) => { const ch = new Channel(); await joinAll([spawn(async () => { for (let i = 0; i < N; i++) await ch.put(i); }), spawn(async () => { for (let i = 0; i < N; i++) await ch.get(); })]); },
    rt: async (N) => { const a = new Queue(1), b = new Queue(1); await joinAll([spawn(async () => { for (let i = 0; i < N; i++) { await a.put(i); await b.get(); } }), spawn(async () => { for (let i = 0; i < N; i++) await b.put(await a.get()); })]); },
    wt: async (N) => { const fn = () => sleep(0); for (let i = 0; i < N; i++) await withTimeout(1000, fn); },
    sleep: async (N) => { for (let i = 0; i < N; i++) await sleep(0); },
    spawn: async (N) => { const gs = new Array(N); for (let i = 0; i < N; i++) gs[i] = spawn(task, i); await joinAll(gs); },
  };
}
for (let i = 0; i < 4; i++) await works[work](5000);
globalThis.gc();
await works[work](n);
