// One load of issue 18's patch rows (bench/patch-fs.ts, bench/patch-echo.ts), N ops, in
// one mode: what bench/_patch-cost.mjs counts under callgrind (instructions per op:
// repeatable on a loaded machine). Modes: `unpatched`; `floor`, a bare wrapper that only
// records the calling flow (one AsyncLocalStorage getStore and one wrapping closure or
// promise: the least any patch that attributes IO to a greenlet pays); `patched` (calls
// made in main); `greenlets` (each worker its own greenlet).
// `stat_chain` is bench/patch-fs.ts's callback shape (each worker a chain of callbacks, no
// promise per call); `stat_cb` wraps each call in a promise.
// Run: node --import tsx bench/_patch-ops.ts <stat_cb|stat_chain|stat_promise|echo> <n> <mode>   (WARM=10000; --expose-gc)
// To measure greenio as shipped, add `--import ./bench/_dist.mjs` after `--import tsx` (dist/;
// without it tsx's rendering of src/ is measured, which is not what users run).
import fs from 'node:fs';
import v8 from 'node:v8';
import { floorRun, installFloor } from './_floor.js';
import { echoClient, startEchoServer } from './_loopback-echo.js';

const [work, nStr, mode] = process.argv.slice(2) as [string, string, string];
const N = Number(nStr);
const C = work === 'echo' ? 10 : 64;
const FILE = '/etc/hostname';
type Run = (fn: () => Promise<void>) => Promise<void>;
let run: Run = (fn) => fn();

if (mode === 'patched' || mode === 'greenlets') {
  const { patchAll } = await import('../src/monkey.js');
  const { spawn } = await import('../src/index.js');
  patchAll({ warnLate: false });
  if (mode === 'greenlets') run = (fn) => spawn(fn).get() as Promise<void>;
} else if (mode === 'floor') {
  // The floor (bench/_floor.ts): each worker in its own context, each call a bare wrapper.
  await installFloor();
  run = floorRun;
}

const statCb = (): Promise<void> => new Promise((res, rej) => fs.stat(FILE, (e) => (e ? rej(e) : res())));
const chain = (n: number): Promise<void> => new Promise((res, rej) => {
  let left = n;
  const next = (err?: Error | null): void => {
    if (err) return rej(err);
    if (left-- === 0) return res();
    fs.stat(FILE, next);
  };
  next();
});
const statP = async (): Promise<void> => void (await fs.promises.stat(FILE));

// The same warm-up before any size (WARM ops), so the difference of two sizes holds
// steady-state ops only, not TurboFan compiling greenio's functions.
const WARM = Number(process.env.WARM ?? 10000);
async function load(n: number): Promise<void> {
  if (work === 'echo') {
    const { port, server } = await startEchoServer();
    await Promise.all(Array.from({ length: C }, () => run(() => echoClient(port, n / C))));
    server.close();
  } else if (work === 'stat_chain') {
    await Promise.all(Array.from({ length: C }, () => run(() => chain(Math.ceil(n / C)))));
  } else {
    const once = work === 'stat_promise' ? statP : statCb;
    await Promise.all(Array.from({ length: C }, () => run(async () => {
      for (let i = 0; i < n / C; i++) await once();
    })));
  }
}
await load(WARM);
// A full collection after the warm-up: both sizes then start from the same heap, so a major
// GC of the warm-up's garbage does not land in one size's count only.
(globalThis as { gc?: () => void }).gc?.();
// ALLOC=1: bytes allocated per op in the measured load (Node >= 26: V8's allocation counter;
// older Nodes: heap growth, exact only when no scavenge runs, so give them
// --min-semi-space-size=128 --max-semi-space-size=128 and N <= 50,000).
const heap = (): number => {
  const h = v8.getHeapStatistics() as v8.HeapInfo & { total_allocated_bytes?: number };
  return h.total_allocated_bytes ?? h.used_heap_size;
};
const before = heap();
await load(N);
const bytes = heap() - before;
console.log(JSON.stringify({ work, n: N, mode, ...(process.env.ALLOC ? { bytes_per_op: Math.round(bytes / N) } : {}) }));
