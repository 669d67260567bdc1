// One load of issue 18's patch rows (bench/patch-fs.ts, bench/patch-echo.ts), N ops, in
// one mode: what bench/_patch-cost.mjs counts under callgrind (instructions per op:
// repeatable on a loaded machine). Modes: `unpatched`; `floor`, a bare wrapper that only
// records the calling flow (one AsyncLocalStorage getStore and one wrapping closure or
// promise: the least any patch that attributes IO to a greenlet pays); `patched` (calls
// made in main); `greenlets` (each worker its own greenlet).
// Run: node --import tsx bench/_patch-ops.ts <stat_cb|stat_promise|echo> <n> <mode>   (WARM=10000; --expose-gc)
import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
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
  // The floor: each worker runs in its own context (as a greenlet does), each call reads it.
  const als = new AsyncLocalStorage<object>();
  let seen = 0;
  run = (fn) => als.run({}, fn);
  const stat = fs.stat;
  const pstat = fs.promises.stat;
  (fs as { stat: unknown }).stat = function (path: string, cb: (e: Error | null) => void) {
    const flow = als.getStore();
    return stat(path, (e) => {
      if (flow !== undefined) seen++;
      cb(e);
    });
  };
  // A promise the wrapper owns (so a kill could reject it at once), settled by the original's.
  fs.promises.stat = function (path: fs.PathLike) {
    const flow = als.getStore();
    if (flow !== undefined) seen++;
    let res!: (v: fs.Stats) => void;
    let rej!: (e: unknown) => void;
    const q = new Promise<fs.Stats>((a, b) => ((res = a), (rej = b)));
    pstat(path).then(res, rej);
    return q;
  } as typeof pstat;
  const events = (await import('node:events')).default;
  const once = events.once;
  // events.once as the stream patch replaces it: a promise of its own over Node's.
  (events as { once: unknown }).once = function (e: NodeJS.EventEmitter, name: string) {
    const flow = als.getStore();
    if (flow !== undefined) seen++;
    let res!: (v: unknown[]) => void;
    let rej!: (e: unknown) => void;
    const q = new Promise<unknown[]>((a, b) => ((res = a), (rej = b)));
    once(e, name).then(res, rej);
    return q;
  };
  (await import('node:module')).syncBuiltinESMExports();
  process.on('exit', () => void seen);
}

const statCb = (): Promise<void> => new Promise((res, rej) => fs.stat(FILE, (e) => (e ? rej(e) : res())));
const statP = async (): Promise<void> => void (await fs.promises.stat(FILE));

// The same warm-up before any size (WARM ops), so the difference of two sizes holds
// steady-state ops only, not TurboFan compiling greenio's functions.
const WARM = Number(process.env.WARM ?? 10000);
async function load(n: number): Promise<void> {
  if (work === 'echo') {
    const { port, server } = await startEchoServer();
    await Promise.all(Array.from({ length: C }, () => run(() => echoClient(port, n / C))));
    server.close();
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
await load(N);
console.log(JSON.stringify({ work, n: N, mode }));
