// One load of issue 18's patch rows (bench/patch-fs.ts, bench/patch-echo.ts), N ops, in
// one mode: what bench/_patch-cost.mjs counts under callgrind (instructions per op:
// repeatable on a loaded machine). Modes: `unpatched`; `floor`, a bare wrapper that only
// records the calling flow (one AsyncLocalStorage getStore and one wrapping closure or
// promise: the least any patch that attributes IO to a greenlet pays); `patched` (calls
// made in main); `greenlets` (each worker its own greenlet).
// Run: node --import tsx bench/_patch-ops.ts <stat_cb|stat_promise|echo> <n> <mode>   (WARM=10000; --expose-gc)
import fs from 'node:fs';
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
